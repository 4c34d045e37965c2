"""Broker accounts: a BrokerAccount row in the database and the same account in Mosquitto's
dynamic-security plugin (docs/broker-accounts.md).

The row is claimed first and committed by the caller, so no transaction stays open while the
broker is asked; if the broker then refuses a new account, the caller forgets the row again.
Functions taking a session flush and never commit.
"""

import secrets

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..database import MAX_ID
from ..domain import broker as names
from ..domain import devices
from ..domain.types import DbSession
from ..models import BrokerAccount, Device, User
from . import dynsec
from .dynsec import AdminSettings, BrokerError, NameTaken

PASSWORD_BYTES = 18  # 24 URL-safe characters


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def user_account(session: DbSession, user: User) -> BrokerAccount | None:
    return session.scalar(select(BrokerAccount).where(BrokerAccount.user_id == user.id))


def bridge_accounts(session: DbSession) -> list[BrokerAccount]:
    return list(
        session.scalars(select(BrokerAccount).where(BrokerAccount.role == "bridge").order_by(BrokerAccount.username))
    )


def account_for(session: DbSession, account_id: int, user: User) -> BrokerAccount | None:
    """The account `user` may manage: their own; an administrator also every bridge."""
    if not 0 < account_id <= MAX_ID:
        return None
    account = session.get(BrokerAccount, account_id)
    if account is None:
        return None
    if account.user_id == user.id or (user.is_admin and account.role == "bridge"):
        return account
    return None


def claim_user_account(session: DbSession, user: User) -> tuple[BrokerAccount, bool]:
    """The user's row, made if missing: (row, whether it is new)."""
    account = user_account(session, user)
    if account is not None:
        return account, False
    account = _claim(session, names.username_for(user.email, user.id), user.id, "user")
    # Keys the user typed before having an account move to where its sensors' messages arrive.
    session.execute(
        update(Device)
        .where(Device.namespace == devices.waiting_namespace(user.id))
        .values(namespace=account.username)
        .execution_options(synchronize_session=False)
    )
    return account, True


def claim_bridge_account(session: DbSession, name: str) -> tuple[BrokerAccount, bool]:
    """The bridge `name`'s row, made if missing. Raises BrokerError for a name that is not a
    bridge's."""
    if not names.BRIDGE_NAME.fullmatch(name):
        raise BrokerError(names.BRIDGE_NAME_MESSAGE)
    username = names.bridge_username(name)
    account = session.scalar(select(BrokerAccount).where(BrokerAccount.username == username))
    if account is not None:
        if account.role != "bridge":
            raise BrokerError(f"The broker account {username} belongs to a gardener: choose another name.")
        return account, False
    return _claim(session, username, None, "bridge"), True


def _claim(session: DbSession, username: str, user_id: int | None, role: str) -> BrokerAccount:
    if username in names.RESERVED:
        raise BrokerError(f"{username} is the name of an account the broker already needs: choose another.")
    account = BrokerAccount(username=username, user_id=user_id, role=role)
    try:
        with session.begin_nested():
            session.add(account)
            session.flush()
    except IntegrityError:
        raise BrokerError(
            f"The broker account {username} is already taken: try again or choose another name."
        ) from None
    return account


def provision(admin: AdminSettings, username: str, role_kind: str, topic_prefix: str, *, new: bool) -> str:
    """Make the account on the broker with its role, or reset its password; the new password.

    A new row whose name the broker already knows is an account PlantOps did not make (a
    sensor's, an operator's): it is left alone and the call fails."""
    password = new_password()
    if role_kind == "bridge":
        role, publish, subscribe = (
            names.BRIDGE_ROLE,
            names.bridge_publish_filters(topic_prefix),
            names.BRIDGE_SUBSCRIPTIONS,
        )
    else:
        role, publish, subscribe = names.user_role(username), names.user_publish_filters(topic_prefix, username), ()
    commands = [
        dynsec.create_role(role),
        *(dynsec.add_role_acl(role, "publishClientSend", topic) for topic in publish),
        *(dynsec.add_role_acl(role, "subscribePattern", topic) for topic in subscribe),
        dynsec.create_client(username, password, [role]),
    ]
    *role_answers, client_answer = dynsec.run(admin, commands)
    dynsec.check(role_answers)
    if client_answer.ok:
        return password
    if not client_answer.already:
        dynsec.check([client_answer])
    if new:
        raise NameTaken(
            f"The broker already has an account named {username} that PlantOps did not make: "
            "ask the broker's operator to rename or remove it."
        )
    # The broker ends the account's connections: sensors using the old password are out.
    _, found = dynsec.check(
        dynsec.run(admin, [dynsec.set_client_password(username, password), dynsec.get_client(username)])
    )
    roles = found.data.get("client", {}).get("roles", [])
    if not any(isinstance(each, dict) and each.get("rolename") == role for each in roles):
        dynsec.check(dynsec.run(admin, [dynsec.add_client_role(username, role)]))
    return password


def deprovision(admin: AdminSettings, username: str, role_kind: str) -> None:
    """Remove the account from the broker (its connections are closed); one already gone is fine."""
    commands = [dynsec.delete_client(username)]
    if role_kind != "bridge":
        commands.append(dynsec.delete_role(names.user_role(username)))
    for answer in dynsec.run(admin, commands):
        if answer.error and "not found" not in answer.error.lower():
            raise BrokerError(f"The broker refused {answer.command}: {answer.error}.")


def set_enabled(admin: AdminSettings, username: str, enabled: bool) -> None:
    """Let the account sign in again, or not (the broker closes its connections at once)."""
    command = dynsec.enable_client(username) if enabled else dynsec.disable_client(username)
    for answer in dynsec.run(admin, [command]):
        if answer.error and "not found" not in answer.error.lower():
            raise BrokerError(f"The broker refused {answer.command}: {answer.error}.")


def forget(session: DbSession, account: BrokerAccount) -> None:
    session.delete(account)
    session.flush()
