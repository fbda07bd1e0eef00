"""Notifications that reach people: who wants which channel, the messages in Thai and English, and the
worker that delivers the outbox by e-mail (SMTP) and signed webhooks."""
