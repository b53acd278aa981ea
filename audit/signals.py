"""Receivers that write the audit log: sign-ins, failures, lockouts, and changes of who may do what."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model, user_logged_in, user_logged_out, user_login_failed
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver

from audit.recording import Action, record

User = get_user_model()

#: The flags of a user that change what they may do.
POWER_FLAGS = ("is_active", "is_staff", "is_superuser")


@receiver(user_logged_in, dispatch_uid="audit_sign_in")
def _signed_in(sender, request, user, **kwargs):
    record(Action.SIGN_IN, request=request, actor=user, target=request.path if request else "")


@receiver(user_logged_out, dispatch_uid="audit_sign_out")
def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        record(Action.SIGN_OUT, request=request, actor=user)


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get(User.USERNAME_FIELD) or credentials.get("username") or "")
    record(
        Action.SIGN_IN_FAILED,
        request=request,
        actor_name=username,
        target=request.path if request is not None else "",
        detail={"locked": bool(getattr(request, "axes_locked_out", False))},
    )


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def _locked_out(sender, request, username, ip_address, **kwargs):
    record(Action.LOCKED_OUT, request=request, actor_name=str(username or ""), target=request.path if request else "")


def _names(model, pks) -> list[str]:
    if model is Permission:
        rows = Permission.objects.filter(pk__in=pks).values_list("content_type__app_label", "codename")
        return sorted(f"{app}.{code}" for app, code in rows)
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
    return sorted(User.objects.filter(pk__in=pks).values_list(User.USERNAME_FIELD, flat=True))


def _label(obj) -> str:
    """A group by its name, a user by their username (the entry links the user as well)."""
    return obj.name if isinstance(obj, Group) else obj.get_username()


def _membership_changed(sender, instance, action, reverse, model, pk_set, field: str, **kwargs):
    if action == "pre_clear":
        pk_set = set(getattr(instance, _accessor(instance, field)).values_list("pk", flat=True))
        change = "removed"
    elif action in ("post_add", "post_remove"):
        change = "added" if action == "post_add" else "removed"
    else:
        return
    if not pk_set:
        return
    names = _names(model, pk_set)
    if reverse and model is User:  # group.user_set.add(user…): one entry per user, as if each user had changed
        for user in User.objects.filter(pk__in=pk_set):
            record(
                Action.PERMISSIONS_CHANGED,
                target=_label(user),
                target_user=user,
                detail={field: {change: [_label(instance)]}},
            )
        return
    record(
        Action.PERMISSIONS_CHANGED,
        target=_label(instance),
        target_user=instance if isinstance(instance, User) else None,
        detail={field: {change: names}},
    )


def _accessor(instance, field: str) -> str:
    if isinstance(instance, Group):
        return "permissions" if field == "permissions" else "user_set"
    return field


def _connect(through, field: str) -> None:
    def receiver_(sender, **kwargs):
        _membership_changed(sender, field=field, **kwargs)

    m2m_changed.connect(receiver_, sender=through, weak=False, dispatch_uid=f"audit_{field}_changed")


_connect(User.groups.through, "groups")
_connect(User.user_permissions.through, "user_permissions")
_connect(Group.permissions.through, "permissions")


@receiver(pre_save, sender=User, dispatch_uid="audit_user_flags_before")
def _flags_before(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None or (update_fields is not None and not set(update_fields) & set(POWER_FLAGS)):
        instance._audit_flags = None
        return
    instance._audit_flags = User.objects.filter(pk=instance.pk).values(*POWER_FLAGS).first()


@receiver(post_save, sender=User, dispatch_uid="audit_user_flags_after")
def _flags_after(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    before = getattr(instance, "_audit_flags", None)
    if created:
        powers = {flag: getattr(instance, flag) for flag in POWER_FLAGS if flag != "is_active"}
        if any(powers.values()):
            record(
                Action.PERMISSIONS_CHANGED, target=_label(instance), target_user=instance, detail={"created": powers}
            )
        return
    if not before:
        return
    changed = {
        flag: [before[flag], getattr(instance, flag)] for flag in POWER_FLAGS if before[flag] != getattr(instance, flag)
    }
    if changed:
        record(Action.PERMISSIONS_CHANGED, target=_label(instance), target_user=instance, detail=changed)
