"""Desk accounts: roles, password hashing, sign-in and the principal the referral services expect.

Roles: ``desk`` (one-stop-service desk staff: new cases, sending referrals), ``member`` (a member's
consulting team: its own referral legs; tied to one member id), ``analyst`` (aggregates and the
dashboard) and ``admin`` (everything). Passwords are stored only as salted hashes
(``werkzeug.security``: scrypt); a failed sign-in never says whether the username exists.
"""

from __future__ import annotations

import re

from werkzeug.security import check_password_hash, generate_password_hash

from matcher.errors import NotFound, Unprocessable
from matcher.store import directory
from matcher.store import sessions as session_store
from matcher.store import users as store
from matcher.vocabulary import ROLES

MIN_PASSWORD = 8
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$")
# Checked when the username is unknown, so that a miss takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password-0")

DEMO_PASSWORD = "rismep-demo"
DEMO_DESK = {"username": "demo-desk", "role": "desk", "desk": "desk-TH-50", "province": "TH-50",
             "name": "DEMO เจ้าหน้าที่ศูนย์บริการเบ็ดเสร็จ เชียงใหม่ (สมมติ)"}
DEMO_STAFF = (DEMO_DESK,
              {"username": "demo-analyst", "role": "analyst", "name": "DEMO นักวิเคราะห์เครือข่าย (สมมติ)"},
              {"username": "demo-admin", "role": "admin", "name": "DEMO ผู้ดูแลระบบ (สมมติ)"})


def check_new_account(db, *, username: str, password: str, role: str, member_id=None) -> None:
    """Raise Unprocessable naming the field when an account could not be created as given."""
    if role not in ROLES:
        raise Unprocessable(f"Unknown role {role!r}; expected one of: {', '.join(ROLES)}.", field="role",
                            allowed=list(ROLES))
    if not USERNAME.match(username or ""):
        raise Unprocessable(f"Invalid username {username!r}: use 3-64 letters, digits, '.', '_', '-' or '@', "
                            f"starting with a letter or digit.", field="username")
    if len(password or "") < MIN_PASSWORD:
        raise Unprocessable(f"The password is too short: use at least {MIN_PASSWORD} characters.",
                            field="password")
    if role == "member" and not member_id:
        raise Unprocessable("A member account needs --member, the member id it acts for (e.g. A0001).",
                            field="member_id")
    if role != "member" and member_id:
        raise Unprocessable(f"Only member accounts carry a member id; drop it for role {role!r}.",
                            field="member_id")
    if member_id:
        directory.get_member(db, member_id)  # NotFound names the id


def create_account(db, *, username: str, password: str, role: str, member_id=None, desk=None, province=None,
                   name=None, demo: bool = False) -> dict:
    """Validate and create one account; return it (never the hash)."""
    check_new_account(db, username=username, password=password, role=role, member_id=member_id)
    if role == "desk" and not desk:
        desk = f"desk-{province}" if province else f"desk-{username}"
    return store.insert_user(db, username=username, password_hash=generate_password_hash(password), role=role,
                             member_id=member_id, desk=desk if role in ("desk", "admin") else None,
                             province=province, name=name, demo=demo)


def authenticate(db, username: str, password: str) -> dict | None:
    """The account when the password is right, else None (same work whether or not the user exists)."""
    found = store.credentials(db, (username or "").strip())
    if found is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(found["password_hash"], password or ""):
        return None
    store.record_sign_in(db, found["user"]["id"])
    return found["user"]


def end_sessions(db, username: str) -> dict:
    """End every desk session of an account at once (``{"username", "ended"}``); NotFound for no such account."""
    user_id = store.user_id_of(db, (username or "").strip())
    if user_id is None:
        raise NotFound(f"No account named {username!r}; check the spelling (usernames ignore case).",
                       field="username")
    return {"username": username, "ended": session_store.end_user_sessions(db, user_id)}


def principal(user: dict) -> dict:
    """The principal dict the referral and analysis services take."""
    return {"role": user["role"], "member_id": user.get("member_id"), "desk": user.get("desk"),
            "key_id": None, "name": user["username"], "user_id": user["id"]}


def demo_username(member_id: str) -> str:
    return f"demo-{member_id.lower()}"


def create_demo_accounts(db) -> list[dict]:
    """DEMO accounts (password ``DEMO_PASSWORD``): a Chiang Mai desk, an analyst, an admin and one member
    account per active member (``demo-a0001``, ``demo-c0001``, ...). Existing usernames are skipped.

    The demo accounts share one salted hash of the published demo password, so creating all of them
    costs one hash. Refused on a dataset that is not synthetic.
    """
    if not directory.dataset_info(db)["synthetic"]:
        raise Unprocessable("Demo accounts are only for the synthetic demo network; this dataset is not "
                            "synthetic. Create real accounts with create-user.", field="dataset")
    password_hash = generate_password_hash(DEMO_PASSWORD)
    wanted = [dict(s) for s in DEMO_STAFF]
    wanted += [{"username": demo_username(m["id"]), "role": "member", "member_id": m["id"],
                "name": f"DEMO {m['name_th']}"} for m in directory.all_members(db)]
    created = []
    for account in wanted:
        if store.credentials(db, account["username"]) is None:
            created.append(store.insert_user(db, password_hash=password_hash, demo=True, **account))
    return created
