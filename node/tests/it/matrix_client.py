"""A third-party Matrix client (matrix-nio, with end-to-end encryption) for the tests.

  code HS USER PASSWORD              accept invitations, print the raremesh code sent
  chat HS_A USER_A PW_A HS_B USER_B PW_B ROOM
                                     both accept the invitation to ROOM; B sends an
                                     encrypted message; A reads it. Prints one JSON line.
  send HS USER PASSWORD ROOM CONTENT...
                                     accept invitations until ROOM is joined, send each
                                     CONTENT (JSON) as an m.room.message ("$PREV" stands
                                     for the previous event's id); print the event ids
                                     as one JSON list.
  send-typed HS USER PASSWORD ROOM TYPE CONTENT...
                                     the same, as events of TYPE.
  exchange HS USER PASSWORD ROOM SAY EXPECT
                                     accept the invitation to ROOM, send SAY (an
                                     encrypted text), wait for a text EXPECT from another
                                     user; print one JSON line: what arrived and whether
                                     it came encrypted.
  leave HS USER PASSWORD ROOM        leave ROOM.
  join-all HS USER PASSWORD STORE COUNT
                                     (one device kept in STORE across commands) accept
                                     invitations until COUNT rooms are joined; print one
                                     JSON line.
  receive HS USER PASSWORD STORE PREFIX COUNT READY
                                     (the same device) sync, write READY, then read until
                                     COUNT texts starting with PREFIX arrived; each text
                                     is "PREFIX <sent at, ms since 1970> ..."; print one
                                     JSON line: how many, when the first and last came,
                                     each one's delay, events that could not be
                                     decrypted.
  notice HS USER PASSWORD EXPECT     accept invitations, wait for a message whose text
                                     contains EXPECT in any room; print one JSON line:
                                     its room, text and msgtype.
"""
import asyncio
import json
import os
import re
import sys
import tempfile
import time

from nio import AsyncClient, AsyncClientConfig, MegolmEvent, RoomMessageNotice, RoomMessageText


async def login(hs, user, password, store):
    client = AsyncClient(hs, user, store_path=store,
                         config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True))
    resp = await client.login(password, device_name="raremesh-test")
    if not getattr(resp, "access_token", None):
        raise SystemExit(f"login {user}: {resp}")
    if client.should_upload_keys:
        await client.keys_upload()
    return client


async def kept(hs, user, password, store):
    """One device for a user across commands: its session and keys stay in `store`."""
    os.makedirs(store, exist_ok=True)
    path = os.path.join(store, "session.json")
    client = AsyncClient(hs, user, store_path=store,
                         config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True))
    if os.path.exists(path):
        with open(path) as f:
            s = json.load(f)
        client.restore_login(s["user_id"], s["device_id"], s["access_token"])
        client.load_store()
    else:
        resp = await client.login(password, device_name="raremesh-bench")
        if not getattr(resp, "access_token", None):
            raise SystemExit(f"login {user}: {resp}")
        with open(path, "w") as f:
            json.dump({"user_id": resp.user_id, "device_id": resp.device_id,
                       "access_token": resp.access_token}, f)
    if client.should_upload_keys:
        await client.keys_upload()
    return client


async def join_all(hs, user, password, store, count):
    c = await kept(hs, user, password, store)
    count = int(count)
    deadline = asyncio.get_event_loop().time() + 3600
    while len(c.rooms) < count and asyncio.get_event_loop().time() < deadline:
        await c.sync(timeout=1000)
        for room_id in list(c.invited_rooms):
            await c.join(room_id)
    await c.sync(timeout=0)
    print(json.dumps({"joined": len(c.rooms)}))
    await c.close()


async def receive(hs, user, password, store, prefix, count, ready):
    c = await kept(hs, user, password, store)
    count = int(count)
    await c.sync(timeout=0)
    with open(ready, "w") as f:
        f.write("ready")
    got, undecryptable = {}, 0
    deadline = asyncio.get_event_loop().time() + 1800
    while len(got) < count and asyncio.get_event_loop().time() < deadline:
        r = await c.sync(timeout=1000)
        now = time.time()
        for room in getattr(r, "rooms", None).join.values() if hasattr(r, "rooms") else []:
            for e in room.timeline.events:
                if isinstance(e, RoomMessageText) and e.body.startswith(prefix):
                    got.setdefault(e.body, now)
                elif isinstance(e, MegolmEvent):
                    undecryptable += 1
    delays = sorted((t - int(body.split()[1]) / 1000.0) * 1000.0 for body, t in got.items())
    print(json.dumps({"received": len(got), "undecryptable": undecryptable,
                      "first": min(got.values()) if got else None,
                      "last": max(got.values()) if got else None,
                      "delays_ms": delays}))
    await c.close()


async def join_invites(client, deadline, room=None):
    """Accepts invitations until `room` (or any room) is joined."""
    while asyncio.get_event_loop().time() < deadline:
        await client.sync(timeout=1000)
        for room_id in list(client.invited_rooms):
            await client.join(room_id)
        if (room is None and client.rooms) or room in client.rooms:
            return
    raise SystemExit(f"{client.user_id}: no invitation arrived")


async def find_message(c, deadline, test):
    """Accepts invitations and reads every room until `test` returns something for a
    text or notice; returns it."""
    while asyncio.get_event_loop().time() < deadline:
        for room in c.rooms.values():
            resp = await c.room_messages(room.room_id, c.next_batch or "", limit=50)
            for e in getattr(resp, "chunk", []):
                if isinstance(e, (RoomMessageText, RoomMessageNotice)):
                    found = test(room.room_id, e)
                    if found is not None:
                        return found
        await c.sync(timeout=1000)
        for room_id in list(c.invited_rooms):
            await c.join(room_id)
    return None


async def code(hs, user, password):
    with tempfile.TemporaryDirectory() as store:
        c = await login(hs, user, password, store)
        deadline = asyncio.get_event_loop().time() + 60
        await join_invites(c, deadline)

        def six_digits(_room, e):
            m = re.search(r"\b(\d{6})\b", e.body)
            return m.group(1) if m else None

        found = await find_message(c, deadline, six_digits)
        await c.close()
        if found is None:
            raise SystemExit("no code message")
        print(found)


async def notice(hs, user, password, expect):
    with tempfile.TemporaryDirectory() as store:
        c = await login(hs, user, password, store)
        deadline = asyncio.get_event_loop().time() + 60
        await join_invites(c, deadline)

        def containing(room, e):
            if expect not in e.body:
                return None
            kind = "m.notice" if isinstance(e, RoomMessageNotice) else "m.text"
            return {"room": room, "body": e.body, "msgtype": kind}

        found = await find_message(c, deadline, containing)
        await c.close()
        if found is None:
            raise SystemExit(f"no message with {expect!r}")
        print(json.dumps(found))


async def chat(hs_a, user_a, pw_a, hs_b, user_b, pw_b, room_id):
    with tempfile.TemporaryDirectory() as sa, tempfile.TemporaryDirectory() as sb:
        a = await login(hs_a, user_a, pw_a, sa)
        b = await login(hs_b, user_b, pw_b, sb)
        deadline = asyncio.get_event_loop().time() + 90
        await join_invites(a, deadline, room_id)
        await join_invites(b, deadline, room_id)
        # Wait until the nodes left: only the two members remain.
        members = []
        while asyncio.get_event_loop().time() < deadline:
            resp = await a.joined_members(room_id)
            members = sorted(m.user_id for m in getattr(resp, "members", []))
            if members == sorted([a.user_id, b.user_id]):
                break
            await a.sync(timeout=500)
            await b.sync(timeout=500)
        await a.sync(timeout=500)
        await b.sync(timeout=500)
        encrypted = b.rooms[room_id].encrypted
        text = "Hello from a member of the other organization"
        await b.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text},
                          ignore_unverified_devices=True)
        got, raw_encrypted = None, False
        while got is None and asyncio.get_event_loop().time() < deadline:
            resp = await a.sync(timeout=1000)
            for e in resp.rooms.join.get(room_id).timeline.events if room_id in resp.rooms.join else []:
                if isinstance(e, RoomMessageText) and e.sender == b.user_id:
                    got = e.body
                    raw_encrypted = e.decrypted
                elif isinstance(e, MegolmEvent):
                    raw_encrypted = True
        print(json.dumps({"members": members, "encrypted_room": encrypted,
                          "received": got, "was_encrypted": raw_encrypted}))
        await a.close()
        await b.close()


async def send(hs, user, password, room_id, *contents):
    await send_typed(hs, user, password, room_id, "m.room.message", *contents)


async def send_typed(hs, user, password, room_id, event_type, *contents):
    with tempfile.TemporaryDirectory() as store:
        c = await login(hs, user, password, store)
        deadline = asyncio.get_event_loop().time() + 90
        await join_invites(c, deadline, room_id)
        ids = []
        for content in contents:
            if ids:
                content = content.replace("$PREV", ids[-1])
            resp = await c.room_send(room_id, event_type, json.loads(content),
                                     ignore_unverified_devices=True)
            if not getattr(resp, "event_id", None):
                raise SystemExit(f"send: {resp}")
            ids.append(resp.event_id)
        print(json.dumps(ids))
        await c.close()


async def exchange(hs, user, password, room_id, say, expect):
    with tempfile.TemporaryDirectory() as store:
        c = await login(hs, user, password, store)
        deadline = asyncio.get_event_loop().time() + 90
        await join_invites(c, deadline, room_id)
        await c.sync(timeout=500)
        resp = await c.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": say},
                                 ignore_unverified_devices=True)
        if not getattr(resp, "event_id", None):
            raise SystemExit(f"send: {resp}")
        got, was_encrypted = None, False
        while got is None and asyncio.get_event_loop().time() < deadline:
            r = await c.sync(timeout=1000)
            room = r.rooms.join.get(room_id) if hasattr(r, "rooms") else None
            for e in room.timeline.events if room else []:
                if isinstance(e, RoomMessageText) and e.sender != c.user_id and e.body == expect:
                    got, was_encrypted = e.body, e.decrypted
        print(json.dumps({"sent": resp.event_id, "encrypted_room": c.rooms[room_id].encrypted,
                          "received": got, "was_encrypted": was_encrypted}))
        await c.close()


async def leave(hs, user, password, room_id):
    with tempfile.TemporaryDirectory() as store:
        c = await login(hs, user, password, store)
        resp = await c.room_leave(room_id)
        if getattr(resp, "status_code", None):
            raise SystemExit(f"leave: {resp}")
        await c.close()


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "code":
        asyncio.run(code(*args))
    elif cmd == "chat":
        asyncio.run(chat(*args))
    elif cmd == "send":
        asyncio.run(send(*args))
    elif cmd == "send-typed":
        asyncio.run(send_typed(*args))
    elif cmd == "exchange":
        asyncio.run(exchange(*args))
    elif cmd == "join-all":
        asyncio.run(join_all(*args))
    elif cmd == "receive":
        asyncio.run(receive(*args))
    elif cmd == "leave":
        asyncio.run(leave(*args))
    elif cmd == "notice":
        asyncio.run(notice(*args))
    else:
        raise SystemExit(__doc__)
