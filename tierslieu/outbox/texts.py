"""The texts of the e-mails, addressed by code (``mail.<kind>.subject`` / ``.body``).

Parameters are plain JSON values stored with the message; instants are ISO strings and are
shown with ``{start:datetime}``, ``{start:date}`` or ``{start:time}`` in the site's timezone.

TEMPORARY: until the one gettext catalogue (``tierslieu.i18n``) lands, the sentences live in
``MESSAGES`` below; they move to ``tierslieu/locale/{fr,en}/LC_MESSAGES/messages.po`` unchanged
(same codes, same placeholders) and :func:`render` then calls ``tierslieu.i18n.render``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

__all__ = ["MESSAGES", "render"]

_LOCALES = {"fr": "fr_FR", "en": "en_GB"}
_UTC = ZoneInfo("UTC")

MESSAGES: dict[str, dict[str, str]] = {
    "mail.greeting": {"fr": "Bonjour {name},", "en": "Hello {name},"},
    "mail.signature": {
        "fr": "À bientôt,\n{site}\n\nCe message est envoyé automatiquement : pour toute question, "
        "appelez ou passez à l'accueil.",
        "en": "See you soon,\n{site}\n\nThis message is sent automatically: for any question, call or "
        "come to the front desk.",
    },
    "mail.attachment_hint": {
        "fr": "Le fichier joint (.ics) ajoute ce rendez-vous à votre agenda.",
        "en": "The attached file (.ics) adds this to your calendar.",
    },
    "mail.booking_offered.subject": {
        "fr": "Un créneau s'est libéré : {resource}, {start:datetime}",
        "en": "A slot is free: {resource}, {start:datetime}",
    },
    "mail.booking_offered.body": {
        "fr": "Le créneau que vous attendiez s'est libéré : {resource}, le {start:datetime} (jusqu'à {end:time}).\n"
        "Il vous est proposé jusqu'à {expires:time} : acceptez-le dans l'application (Mes réservations, "
        "liste d'attente). Passé ce délai, il sera proposé à la personne suivante.",
        "en": "The slot you were waiting for is free: {resource}, {start:datetime} (until {end:time}).\n"
        "It is offered to you until {expires:time}: accept it in the app (My bookings, waitlist). "
        "After that it goes to the next person waiting.",
    },
    "mail.booking_approved.subject": {
        "fr": "Réservation confirmée : {resource}, {start:datetime}",
        "en": "Booking confirmed: {resource}, {start:datetime}",
    },
    "mail.booking_approved.body": {
        "fr": "Votre demande de réservation est acceptée : {resource}, le {start:datetime} (jusqu'à {end:time}).",
        "en": "Your booking request is approved: {resource}, {start:datetime} (until {end:time}).",
    },
    "mail.booking_rejected.subject": {
        "fr": "Réservation refusée : {resource}, {start:datetime}",
        "en": "Booking declined: {resource}, {start:datetime}",
    },
    "mail.booking_rejected.body": {
        "fr": "Votre demande de réservation pour {resource}, le {start:datetime}, n'a pas pu être acceptée. {reason}",
        "en": "Your booking request for {resource}, {start:datetime}, could not be approved. {reason}",
    },
    "mail.registration_confirmed.subject": {
        "fr": "Inscription confirmée : {title}, {start:datetime}",
        "en": "Registration confirmed: {title}, {start:datetime}",
    },
    "mail.registration_confirmed.body": {
        "fr": "Votre inscription est confirmée : « {title} », le {start:datetime} (jusqu'à {end:time}), {place}.\n"
        "Places réservées : {seats}.\nEmpêché ? Prévenez l'accueil pour libérer votre place.",
        "en": 'Your registration is confirmed: "{title}", {start:datetime} (until {end:time}), {place}.\n'
        "Seats: {seats}.\nCannot come? Tell the front desk so someone else can have your seat.",
    },
    "mail.registration_waitlisted.subject": {
        "fr": "Liste d'attente : {title}, {start:datetime}",
        "en": "Waitlist: {title}, {start:datetime}",
    },
    "mail.registration_waitlisted.body": {
        "fr": "L'atelier « {title} » du {start:datetime} est complet : vous êtes sur la liste d'attente "
        "(position {position}). Nous vous écrivons dès qu'une place se libère.",
        "en": 'The workshop "{title}" on {start:datetime} is full: you are on the waitlist (position '
        "{position}). We will write as soon as a seat frees up.",
    },
    "mail.registration_promoted.subject": {
        "fr": "Une place s'est libérée : {title}, {start:datetime}",
        "en": "A seat is free: {title}, {start:datetime}",
    },
    "mail.registration_promoted.body": {
        "fr": "Bonne nouvelle : une place s'est libérée. Votre inscription à « {title} », le {start:datetime} "
        "(jusqu'à {end:time}), {place}, est confirmée.\nEmpêché ? Prévenez l'accueil pour libérer votre place.",
        "en": 'Good news: a seat is free. Your registration for "{title}", {start:datetime} (until {end:time}), '
        "{place}, is confirmed.\nCannot come? Tell the front desk so someone else can have your seat.",
    },
    "mail.registration_cancelled.subject": {
        "fr": "Inscription annulée : {title}, {start:datetime}",
        "en": "Registration cancelled: {title}, {start:datetime}",
    },
    "mail.registration_cancelled.body": {
        "fr": "Votre inscription à « {title} », le {start:datetime}, est annulée.",
        "en": 'Your registration for "{title}", {start:datetime}, is cancelled.',
    },
    "mail.session_cancelled.subject": {
        "fr": "Atelier annulé : {title}, {start:datetime}",
        "en": "Workshop cancelled: {title}, {start:datetime}",
    },
    "mail.session_cancelled.body": {
        "fr": "Nous sommes désolés : l'atelier « {title} » du {start:datetime} est annulé. {reason}",
        "en": 'We are sorry: the workshop "{title}" on {start:datetime} is cancelled. {reason}',
    },
    "mail.session_reminder.subject": {
        "fr": "Rappel : {title}, {start:datetime}",
        "en": "Reminder: {title}, {start:datetime}",
    },
    "mail.session_reminder.body": {
        "fr": "Nous vous rappelons l'atelier « {title} », demain {start:date} de {start:time} à {end:time}, {place}."
        "\nEmpêché ? Prévenez l'accueil pour libérer votre place.",
        "en": 'A reminder of the workshop "{title}", tomorrow {start:date} from {start:time} to {end:time}, '
        "{place}.\nCannot come? Tell the front desk so someone else can have your seat.",
    },
    "mail.appointment_confirmed.subject": {
        "fr": "Rendez-vous confirmé : {start:datetime}",
        "en": "Appointment confirmed: {start:datetime}",
    },
    "mail.appointment_confirmed.body": {
        "fr": "Votre rendez-vous avec {advisor} est confirmé : le {start:datetime} (jusqu'à {end:time}), {place}.\n"
        "Empêché ? Prévenez l'accueil.",
        "en": "Your appointment with {advisor} is confirmed: {start:datetime} (until {end:time}), {place}.\n"
        "Cannot come? Tell the front desk.",
    },
    "mail.appointment_reminder.subject": {
        "fr": "Rappel : rendez-vous {start:datetime}",
        "en": "Reminder: appointment {start:datetime}",
    },
    "mail.appointment_reminder.body": {
        "fr": "Nous vous rappelons votre rendez-vous avec {advisor}, demain {start:date} à {start:time}, {place}.",
        "en": "A reminder of your appointment with {advisor}, tomorrow {start:date} at {start:time}, {place}.",
    },
    "mail.appointment_cancelled.subject": {
        "fr": "Rendez-vous annulé : {start:datetime}",
        "en": "Appointment cancelled: {start:datetime}",
    },
    "mail.appointment_cancelled.body": {
        "fr": "Votre rendez-vous avec {advisor} du {start:datetime} est annulé. Pour en prendre un autre, "
        "appelez ou passez à l'accueil.",
        "en": "Your appointment with {advisor} on {start:datetime} is cancelled. To make another one, call or "
        "come to the front desk.",
    },
    "ics.agenda": {"fr": "Agenda des ateliers", "en": "Workshop agenda"},
    "ics.booking_offered": {"fr": "Créneau proposé : {resource}", "en": "Slot offered: {resource}"},
    "ics.booking": {"fr": "Réservation : {resource}", "en": "Booking: {resource}"},
    "ics.session": {"fr": "Atelier : {title}", "en": "Workshop: {title}"},
    "ics.appointment": {"fr": "Rendez-vous : {advisor}", "en": "Appointment: {advisor}"},
    "outbox.no_address": {
        "fr": "Non distribuable : pas d'adresse e-mail (l'accueil imprime un récapitulatif).",
        "en": "Not deliverable: no e-mail address (the front desk prints a slip).",
    },
}


class _Formatter(string.Formatter):
    def __init__(self, language: str, tz: ZoneInfo) -> None:
        self.locale = _LOCALES.get(language, "fr_FR")
        self.tz = tz

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec in ("datetime", "date", "time"):
            moment = datetime.fromisoformat(value) if isinstance(value, str) else value
            local = moment.astimezone(self.tz)
            if format_spec == "date":
                return format_date(local.date(), "full", locale=self.locale)
            if format_spec == "time":
                return format_time(local.time(), "short", locale=self.locale)
            return format_datetime(local, "EEEE d MMMM y, HH:mm", locale=self.locale)
        return str(super().format_field(value, format_spec))


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""  # an optional parameter left out reads as nothing, never as an error


def render(code: str, params: Mapping[str, Any], language: str, tz: ZoneInfo = _UTC) -> str:
    """The text of ``code`` in ``language`` (French when unknown), with ``params`` filled in."""
    texts = MESSAGES[code]
    template = texts.get(language) or texts["fr"]
    return _Formatter(language, tz).vformat(template, (), _Missing(params)).strip()
