"""The registry's tables (SQLModel entities), one module per area."""

from registry.accounts.models import PasswordReset, RecoveryCode, UserLogin
from registry.models.blocks import Block, SerialCounter
from registry.models.certification import CertificateEvent, RmsCertificate
from registry.custody.models import CustodyAccount, CustodyClosing, CustodyOutput, CustodyPeriod, CustodyReceipt
from registry.models.disputes import BlockDispute
from registry.models.facilities import Determination, Facility, ProductionLine
from registry.models.identity import ApiToken, Participant, User, WebSession
from registry.models.integrity import Cosignature, VerificationRun, Witness
from registry.models.lots import Disposition, Lot
from registry.models.trading import IdempotencyRecord, JobRun, Retirement, RetirementAmendment
from registry.notifications.models import NotificationEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from registry.offers.models import Offer

__all__ = [
    "ApiToken",
    "Block",
    "BlockDispute",
    "CertificateEvent",
    "Cosignature",
    "CustodyAccount",
    "CustodyClosing",
    "CustodyOutput",
    "CustodyPeriod",
    "CustodyReceipt",
    "Determination",
    "Disposition",
    "Facility",
    "IdempotencyRecord",
    "JobRun",
    "Lot",
    "NotificationEvent",
    "Offer",
    "Participant",
    "PasswordReset",
    "ProductionLine",
    "RecoveryCode",
    "Retirement",
    "RetirementAmendment",
    "RmsCertificate",
    "SerialCounter",
    "User",
    "UserLogin",
    "VerificationRun",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebSession",
    "Witness",
]
