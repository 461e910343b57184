"""The mailbox: receive mail (SMTP, IMAP), decode it, keep it, reply."""
