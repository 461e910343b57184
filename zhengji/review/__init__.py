"""Staff review: the queue, corrections, decisions, late exceptions and exports, behind the web queue and the CLI.

The web pages (``zhengji/web/staff``) and the command line call these modules; they in turn record a re-check's
verdict only through :func:`zhengji.storage.status.record_verdict`, a reviewer's decision only through
:func:`zhengji.storage.status.record_decision`, and queue mail only through the pipeline's own reply path, so
that a decision is audited and threaded like every other answer and no check ever overturns it.
"""
