"""The rules, one module per family; ``checks.table`` orders them per form."""
