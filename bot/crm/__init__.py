"""The CRM room: one connector seam (`connector.py`), one implementation per CRM, and the sync engine
that brings accounts, owners, contacts and opportunities into refbot and writes references back."""
