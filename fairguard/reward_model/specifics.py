"""Fluent sentences full of the specifics real answers carry: numbers, dates, times, prices,
units, names, places, versions.

Nearly every dataset answer is plain prose without them (digits in 5 % of the default build's
fair train answers, against 46 % of the embedded SmolLM2's everyday answers), while the fluency
negatives are typo-ridden corruptions. So the fluency head learned that rare tokens mean
disfluency: the seventeenth judge scored "The first airplane flew on December 17, 1903, when
Orville and Wilbur Wright achieved powered flight." 0.52 / 0.30 for fluency (seeds 0 / 1,
thresholds 0.885 / 0.926), and flagged 6-11 % of the everyday answers for fluency alone
(docs/reward-model.md, eighteenth run). :func:`specific_sentence` draws one such sentence;
:func:`fairguard.reward_model.augment.specific_pairs` puts it into fluent answers, with a
corruption of the result as the negative, so that specifics sit on both sides of the label.

The templates and word lists were written for fairguard; the slots are filled at random, so
the numbers and names differ from draw to draw.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from fairguard.data.groups import FEMALE_NAMES, MALE_NAMES

SURNAMES = ("Zhang", "Wang", "Li", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
            "Smith", "Garcia", "Müller", "Okafor", "Nguyen", "Kowalski", "Tanaka", "Silva",
            "Novak", "Haddad", "Johansson", "Rossi", "Dubois", "Petrov")
GIVEN = ("Anna", "Tom", "Maria", "David", "Sofia", "James", "Aisha", "Kenji", "Lucas", "Elena",
         "Omar", "Priya", "Jonas", "Chloe", "Mateo", "Ingrid")
PLACES = ("Chengdu", "Hangzhou", "Kunming", "Harbin", "Xiamen", "Lanzhou", "Nairobi", "Lisbon",
          "Osaka", "Toronto", "Melbourne", "Krakow", "Valparaíso", "Hamburg", "Tromsø", "Lyon")
THINGS = ("Python 3.11", "Windows 11", "the iPhone 15", "Excel", "Android 14", "Ubuntu 24.04",
          "PostgreSQL 16", "the Model Y", "WeChat", "Chrome 120", "the Kindle Paperwhite",
          "Photoshop", "Node.js 20", "the Raspberry Pi 5")
ORGS = ("the World Health Organization", "NASA", "the central bank", "the city council",
        "the national weather service", "UNESCO", "the local library", "the tax office",
        "the International Energy Agency", "the university hospital")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
UNITS = ("km", "kg", "ml", "cm", "mm", "GB", "MB", "kWh", "mg", "m²", "litres", "grams",
         "metres", "hours", "minutes", "days", "weeks")
CURRENCIES = ("¥", "$", "€", "£")

TEMPLATES = (
    "The office opens at {time} and closes at {time2}.",
    "{person} moved to {place} in {year} and has lived there ever since.",
    "{thing} was released on {date}, {year}.",
    "It costs about {price}, or {price2} if you book before {date}.",
    "According to {org}, the figure rose by {pct} between {year} and {year2}.",
    "The trip from {place} to {place2} takes roughly {n} hours by train.",
    "Use {n} {unit} for every {n2} {unit2}.",
    "{person} said the meeting on {date} would start at {time}.",
    "Version {version} fixed the bug that {person} reported in {month}.",
    "The recipe needs {n} eggs, {n2}0 grams of flour and a pinch of salt.",
    "Set the oven to {deg}°C and bake it for {n}{n2} minutes.",
    "In {year}, about {pct} of households in {place} had internet access.",
    "The bridge is {n}.{n2} km long and opened in {year}.",
    "Dr. {surname} sees patients on {weekday}s from {time} to {time2}.",
    "The warranty lasts {n} years, so it runs out in {month} {year2}.",
    "Room {room} is on the {ordinal} floor, next to the lift.",
    "{person} paid {price} for it at a shop in {place}.",
    "The file is about {n}{n2} MB, so it downloads in under a minute.",
    "{org} published the report on {date}.",
    "Drink at least {n}.{n2} litres of water a day when it is above {deg2}°C.",
    "Between {year} and {year2}, the population of {place} grew from {big} to {big2}.",
    "Call {phone} between {time} and {time2} on weekdays.",
    "Take {n}00 mg twice a day, with food, for {n2} days.",
    "{thing} needs at least {n} GB of memory.",
    "The {ordinal} edition came out in {year}, edited by {person}.",
    "Our flight, {flight}, leaves {place} at {time}.",
    "The score was {n}-{n2} after {n3} minutes.",
    "{person} and {person2} finished the project on {date}, {n} days early.",
    "The speed limit there is {n}0 km/h, and {n2}0 near schools.",
    "It weighs {n}.{n2} kg and fits in a {n3}{n}-litre bag.",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "12th", "21st")


def _slots(rng: random.Random) -> dict[str, Callable[[], str]]:
    def person() -> str:
        pool = rng.choice((FEMALE_NAMES + MALE_NAMES, GIVEN))
        return f"{rng.choice(pool)} {rng.choice(SURNAMES)}" if rng.random() < 0.6 else rng.choice(pool)

    def time() -> str:
        hour, minute = rng.randrange(6, 22), rng.choice((0, 15, 30, 45))
        return f"{hour}:{minute:02d}" if rng.random() < 0.6 else \
            f"{hour % 12 or 12}:{minute:02d} {'a.m.' if hour < 12 else 'p.m.'}"

    def date() -> str:
        month, day = rng.choice(MONTHS), rng.randrange(1, 29)
        return f"{day} {month}" if rng.random() < 0.5 else f"{month} {day}"

    def price() -> str:
        amount = rng.choice((rng.randrange(2, 99), rng.randrange(100, 5000)))
        return f"{rng.choice(CURRENCIES)}{amount:,}" + (f".{rng.randrange(10, 99)}" if rng.random() < 0.3 else "")

    def big() -> str:
        return f"{rng.randrange(10, 999) * 1000 + rng.randrange(1000):,}"

    return {
        "person": person, "person2": person, "surname": lambda: rng.choice(SURNAMES),
        "place": lambda: rng.choice(PLACES), "place2": lambda: rng.choice(PLACES),
        "thing": lambda: rng.choice(THINGS), "org": lambda: rng.choice(ORGS),
        "time": time, "time2": time, "date": date, "month": lambda: rng.choice(MONTHS),
        "weekday": lambda: rng.choice(WEEKDAYS), "ordinal": lambda: rng.choice(ORDINALS),
        "year": lambda: str(rng.randrange(1890, 2026)), "year2": lambda: str(rng.randrange(1990, 2031)),
        "price": price, "price2": price, "big": big, "big2": big,
        "pct": lambda: f"{rng.randrange(2, 95)}{rng.choice(('', '.5'))}%",
        "n": lambda: str(rng.randrange(1, 10)), "n2": lambda: str(rng.randrange(1, 10)),
        "n3": lambda: str(rng.randrange(1, 10)),
        "unit": lambda: rng.choice(UNITS), "unit2": lambda: rng.choice(UNITS),
        "deg": lambda: str(rng.choice((160, 180, 200, 220))), "deg2": lambda: str(rng.randrange(25, 40)),
        "version": lambda: f"{rng.randrange(1, 12)}.{rng.randrange(0, 20)}.{rng.randrange(0, 9)}",
        "room": lambda: str(rng.randrange(101, 1299)),
        "phone": lambda: f"{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
        "flight": lambda: f"{rng.choice(('CA', 'MU', 'LH', 'BA', 'KL'))}{rng.randrange(100, 9999)}",
    }


def specific_sentence(rng: random.Random) -> str:
    """One fluent sentence with numbers, dates, names or places, its slots drawn from ``rng``."""
    template = rng.choice(TEMPLATES)
    fill = _slots(rng)
    values: dict[str, str] = {}
    for name, make in fill.items():
        if "{" + name + "}" in template:
            values[name] = make()
    return template.format(**values).replace("..", ".")
