"""Group 64's config command: the device's settings (sms_words: what the
subscriber may text the device)."""

from firmware.smp.groups.arguments import refused
from protocol import metering as m
from protocol import settings, smp


class ConfigCommands:
    def __init__(self, server, queries):
        self._queries = queries  # firmware/sms/queries.py's Queries
        server.register(m.GROUP, {
            (m.CMD_CONFIG, smp.OP_READ): self.config_read,
            (m.CMD_CONFIG, smp.OP_WRITE): self.config_write,
        })

    def config_read(self, request):
        return {"sms_words": self._queries.words}

    def config_write(self, request):
        try:
            if "sms_words" in settings.check_write(request, settings.CONFIG):
                self._queries.set_words(request["sms_words"])
        except ValueError as error:
            raise refused(error)
        return self.config_read(request)
