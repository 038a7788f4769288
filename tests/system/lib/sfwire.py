"""Protobuf and IPv4/UDP helpers for the system tests' small Python agents,
which hand-encode control messages (proto/control.proto) and SCAFFOLD
frames (docs/protocol.md) to talk to the controller without libsf.

    sys.path.insert(0, os.path.join(os.environ["SF_TOP"], "tests/system/lib"))
    from sfwire import varint, field, rvarint, parse, csum
"""
import struct


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7f, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out

def field(num, wt, v):
    key = varint(num << 3 | wt)
    return key + (varint(v) if wt == 0 else varint(len(v)) + v)

def rvarint(b, i):
    n = shift = 0
    while True:
        n |= (b[i] & 0x7f) << shift
        shift += 7
        i += 1
        if not b[i - 1] & 0x80:
            return n, i

def parse(b):
    f, i = {}, 0
    while i < len(b):
        key, i = rvarint(b, i)
        if key & 7 == 0:
            v, i = rvarint(b, i)
        else:
            n, i = rvarint(b, i)
            v, i = b[i:i + n], i + n
        f[key >> 3] = v
    return f

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
