"""Outbox kinds, in one place (like `bot/ids.py` for Slack ids): what a row asks the outbox to deliver.

A row names what to say, not the words: `bot.notifications` renders each kind from the database at
delivery. The kinds are stored in `outbox_messages.kind`, so a value here never changes once released.
"""

from __future__ import annotations

# A request's life (bot.requests)
MANAGER_CARD = "request.manager_card"
RECEIPT = "request.receipt"
APPROVED_NOTICE = "request.approved"
DECLINED_NOTICE = "request.declined"
OUTCOME_ASK = "request.outcome_ask"
OUTCOME_REMINDER = "request.outcome_reminder"
NEGATIVE_FEEDBACK = "request.negative_feedback"
SLA_REMINDER = "request.sla_reminder"

# Check-ins (bot.requests, bot.jobs)
CHECKIN_CARD = "checkin.card"
CHECKIN_RESULT = "checkin.result"
CHECKIN_ALERT = "checkin.alert"
CHECKIN_ROUND = "checkin.round"
CHECKIN_REMINDER = "checkin.reminder"
CHECKIN_ESCALATION = "checkin.escalation"
OWNERLESS = "checkin.ownerless"

# Consents, the digest, the App Home
CONSENT_EXPIRING = "consent.expiring"
DIGEST = "digest"  # the weekly digest to REFBOT_DIGEST_CHANNEL (bot.digest)
HOME = "home"  # a person's App Home tab: built from the database at delivery (bot.home), views.publish

# Nominations and thanks (bot.nominations, bot.thanks)
NOMINATION_CARD = "nomination.card"
NOMINATION_OFFER = "nomination.offer"
NOMINATION_DECIDED = "nomination.decided"
THANKS_ASK = "thanks.ask"  # the owner's DM, updated in place once answered

# Incidents (bot.incidents): the managers' DM when one is recorded
INCIDENT_RECORDED = "incident.recorded"

# The CRM (bot.crm): a sync error told once to each manager, and a reference written onto an opportunity
CRM_ERROR = "crm.error"
CRM_ACTIVITY = "crm.activity"  # not a Slack message: delivered by bot.crm.writeback.CrmWriter

# The outbox's own: re-render the messages already sent for a subject (chat.update), see bot.outbox
REFRESH = "refresh"

# Groups a refresh names
REQUEST_CARDS = (MANAGER_CARD, RECEIPT)
OUTCOME_CARDS = (OUTCOME_ASK, OUTCOME_REMINDER)
