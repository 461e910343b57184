"""The answers, one module a kind of question; each composes Chinese text from the notice data or the database."""
