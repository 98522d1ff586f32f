"""What a bad serial line does to bytes: flips bits, drops and repeats bytes, and
lets console chatter in between. `LineFaults.apply(data)` returns the damaged
copy; plugged into a PtyLink it damages everything the cable carries. Seeded, so
a failing run can be replayed.
"""

import random


class LineFaults:
    def __init__(self, seed=0, bit_flip=1e-4, drop=2e-5, duplicate=2e-5, noise_line=2e-5):
        self.rng = random.Random(seed)
        self.bit_flip = bit_flip
        self.drop = drop
        self.duplicate = duplicate
        self.noise_line = noise_line
        self.flipped = self.dropped = self.duplicated = self.noise_lines = 0

    def apply(self, data):
        rate = self.bit_flip + self.drop + self.duplicate + self.noise_line
        if not data or rate <= 0:
            return data
        out = bytearray()
        rng = self.rng
        for byte in data:
            roll = rng.random()
            if roll >= rate:
                out.append(byte)
                continue
            if roll < self.bit_flip:
                out.append(byte ^ (1 << rng.randrange(8)))
                self.flipped += 1
            elif roll < self.bit_flip + self.drop:
                self.dropped += 1
            elif roll < self.bit_flip + self.drop + self.duplicate:
                out += bytes((byte, byte))
                self.duplicated += 1
            else:
                out += b"\r\nI (%d) modem: +CEREG: 1\r\n" % rng.randrange(100000)
                out.append(byte)
                self.noise_lines += 1
        return bytes(out)
