"""A TCP relay of one OpenFlow connection, for the controller system tests.

    ofdelay.py LPORT CPORT FLAG SECONDS

Listens on 127.0.0.1:LPORT and relays each connection to the controller on
127.0.0.1:CPORT.  While the file FLAG exists, each message the controller
sends, except a packet-out, is held SECONDS before it goes on (in order);
packet-outs and the switch's messages are never held (a switch may reorder
messages between barriers).  A test that puts a switch behind it sees
whether the controller answered a host before that switch confirmed its
rules, whatever the speed of the test's own look at the switch.
"""
import asyncio, os, struct, sys, time

LPORT, CPORT, FLAG, DELAY = (int(sys.argv[1]), int(sys.argv[2]),
                             sys.argv[3], float(sys.argv[4]))
OFPT_PACKET_OUT = 13

async def pump(r, w, held):
    q = asyncio.Queue()

    async def writer():
        while True:
            t, data = await q.get()
            if data is None:
                break
            if t > time.monotonic():
                await asyncio.sleep(t - time.monotonic())
            w.write(data)
            await w.drain()

    task = asyncio.ensure_future(writer())
    buf = b""
    try:
        while True:
            data = await r.read(65536)
            if not data:
                break
            if not held:
                await q.put((0, data))
                continue
            buf += data
            while len(buf) >= 8:
                n = struct.unpack("!H", buf[2:4])[0]
                if n < 8 or len(buf) < n:
                    break
                msg, buf = buf[:n], buf[n:]
                if msg[1] == OFPT_PACKET_OUT:
                    w.write(msg)
                else:
                    late = DELAY if os.path.exists(FLAG) else 0
                    await q.put((time.monotonic() + late, msg))
    finally:
        await q.put((0, None))
        try:
            await task
        finally:
            w.close()

async def relay(r, w):
    try:
        cr, cw = await asyncio.open_connection("127.0.0.1", CPORT)
    except OSError:
        w.close()
        return
    await asyncio.gather(pump(r, cw, False), pump(cr, w, True),
                         return_exceptions=True)

async def main():
    server = await asyncio.start_server(relay, "127.0.0.1", LPORT)
    async with server:
        await server.serve_forever()

asyncio.run(main())
