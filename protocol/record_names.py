"""Names for the record schema's numbers: how the host shows records to people.

Kept apart from records.py so the device, which only needs the numbers, does
not carry the strings in its RAM.
"""

from protocol.records import (
    AUTH_FAILED,
    BALANCE,
    BOOT,
    CONFIG_CHANGED,
    CYCLE_ROLLOVER,
    DATA_CUT,
    DATA_RESUMED,
    GAP,
    K_DEVICE,
    K_EPOCH,
    K_MAC,
    K_SEQ,
    K_TIME,
    K_TYPE,
    MODEM_RESET,
    REMINDER_DELIVERED,
    REMINDER_FAILED,
    REMINDER_SENT,
    SMS_RECEIVED,
    THRESHOLD_CROSSED,
    USAGE,
)

# For each type: its name, and for each type-specific key its field name.
TYPES = {
    BOOT: ("boot", {8: "reason", 9: "firmware", 10: "boot_count"}),
    USAGE: ("usage", {8: "up_bytes", 9: "down_bytes", 10: "source", 11: "total_bytes"}),
    CYCLE_ROLLOVER: ("cycle_rollover", {8: "cycle_start", 9: "used_bytes", 10: "quota_bytes"}),
    THRESHOLD_CROSSED: ("threshold_crossed", {8: "threshold_bytes", 9: "remaining_bytes"}),
    REMINDER_SENT: ("reminder_sent", {8: "kind", 9: "to", 10: "message_ref", 11: "text"}),
    REMINDER_DELIVERED: ("reminder_delivered", {8: "kind", 10: "message_ref", 12: "status"}),
    REMINDER_FAILED: ("reminder_failed", {8: "kind", 10: "message_ref", 13: "error", 14: "attempts", 15: "final"}),
    DATA_CUT: ("data_cut", {8: "reason", 9: "remaining_bytes"}),
    DATA_RESUMED: ("data_resumed", {8: "reason", 9: "remaining_bytes"}),
    BALANCE: ("balance", {8: "balance_fen", 9: "source", 10: "expires"}),
    SMS_RECEIVED: ("sms_received", {8: "from", 9: "text", 10: "kind", 11: "chunk", 12: "chunks", 13: "fields", 14: "sent"}),
    CONFIG_CHANGED: ("config_changed", {8: "key", 9: "old", 10: "new"}),
    MODEM_RESET: ("modem_reset", {8: "reason"}),
    GAP: ("gap", {8: "dropped", 9: "first_time", 10: "last_time"}),
    AUTH_FAILED: ("auth_failed", {8: "why", 9: "group", 10: "command", 11: "failures"}),
}

COMMON = {K_TYPE: "type", K_SEQ: "seq", K_TIME: "time", K_DEVICE: "device", K_EPOCH: "epoch", K_MAC: "mac"}
