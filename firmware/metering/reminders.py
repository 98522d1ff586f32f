"""Data-left reminders: each threshold fires exactly once per cycle.

The carrier's promise (seed facts §1): an SMS when the data left in the plan
reaches 10 MB, 5 MB and 0 MB. Each threshold is in one of three states:

- armed: not yet reached this cycle;
- pending: reached; the reminder must go out (persisted before sending, so a
  power cut between crossing and sending still sends it after the boot);
- sent: done for this cycle.

A new cycle re-arms every threshold; so does data left rising above a threshold
again (an add-on pack), which also cancels a reminder not yet sent: it would no
longer be true. The window where a power cut can repeat an SMS is between the
modem accepting it and `mark_sent` reaching flash.

Once sent, how the subscriber's message ended is noted (`note`): "delivered",
or "failed" with the reason, for `status` and for sending it again to a
corrected number.
"""

from protocol.units import MB

DEFAULT_THRESHOLDS = (10 * MB, 5 * MB, 0)
ARMED = 0
PENDING = 1
SENT = 2


def default_text(threshold, cut_at_zero):
    if threshold > 0:
        return "尊敬的客户，您本月套餐内剩余流量为%dMB，为避免产生套餐外流量费用，请合理使用。【edgemeter】" % (
            threshold // MB
        )
    if cut_at_zero:
        return "尊敬的客户，您本月套餐内流量已用完（剩余0MB），已为您暂停上网，以免产生套餐外流量费用。【edgemeter】"
    return "尊敬的客户，您本月套餐内流量已用完（剩余0MB），继续使用将按套餐外资费计费。【edgemeter】"


class Reminders:
    def __init__(self, thresholds=DEFAULT_THRESHOLDS):
        self.thresholds = sorted(thresholds, reverse=True)
        self.cycle_start = None
        self.states = {t: ARMED for t in self.thresholds}
        self.rearmed = 0  # times data left rose above a reached threshold (add-ons)
        self.outcomes = {}  # threshold -> (outcome, why) of the subscriber's message

    def update(self, remaining, cycle_start):
        """Account the data left now; returns the thresholds that just became pending, highest first."""
        if cycle_start != self.cycle_start:
            self.cycle_start = cycle_start
            self.states = {t: ARMED for t in self.thresholds}
            self.outcomes = {}
        crossed = []
        for threshold in self.thresholds:
            state = self.states[threshold]
            if state == ARMED and remaining <= threshold:
                self.states[threshold] = PENDING
                crossed.append(threshold)
            elif state != ARMED and remaining > threshold:
                self.states[threshold] = ARMED  # an add-on lifted us above it again
                self.outcomes.pop(threshold, None)
                self.rearmed += 1
        return crossed

    def pending(self):
        return [t for t in self.thresholds if self.states[t] == PENDING]

    def mark_sent(self, threshold):
        if self.states.get(threshold) == PENDING:
            self.states[threshold] = SENT
            self.outcomes.pop(threshold, None)

    def note(self, threshold, outcome, why):
        """How the subscriber's message of a sent threshold ended (firmware/sms/outbox.py DELIVERED/FAILED)."""
        if self.states.get(threshold) == SENT:
            self.outcomes[threshold] = (outcome, why)

    def as_dict(self):
        return {"cycle": self.cycle_start, "states": [[t, self.states[t]] for t in self.thresholds], "rearmed": self.rearmed,
                "outcomes": [[t, o, w] for t, (o, w) in self.outcomes.items()]}

    def load(self, data):
        self.cycle_start = data["cycle"]
        self.rearmed = data.get("rearmed", 0)
        saved = dict((t, s) for t, s in data["states"])
        self.states = {t: saved.get(t, ARMED) for t in self.thresholds}
        self.outcomes = {t: (o, w) for t, o, w in data.get("outcomes", ()) if self.states.get(t) == SENT}
