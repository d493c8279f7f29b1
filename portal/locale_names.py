"""Month, weekday, day-period and country names as catalogue strings, for languages CLDR lacks.

Babel's CLDR has no Samoan, Fijian or Bislama, so those languages format dates with a stand-in
locale's *patterns* (``en_WS``, ``en_FJ``, ``fr_VU``) — but the *words* in them (``December``,
``Tuesday``, ``pm``, ``Samoa``) come from the language's own catalogue, through the msgids below
(each with a context, so the abbreviated and wide month "May" can differ). Languages CLDR has
(English, Māori, Tongan, French) use CLDR's names and never look these up.
"""
from __future__ import annotations

from portal.markers import NP_

#: Month names as CLDR's wide and abbreviated forms, January first.
MONTHS_WIDE = (
    NP_("month", "January"), NP_("month", "February"), NP_("month", "March"), NP_("month", "April"),
    NP_("month", "May"), NP_("month", "June"), NP_("month", "July"), NP_("month", "August"),
    NP_("month", "September"), NP_("month", "October"), NP_("month", "November"), NP_("month", "December"),
)
MONTHS_ABBREVIATED = (
    NP_("month, abbreviated", "Jan"), NP_("month, abbreviated", "Feb"), NP_("month, abbreviated", "Mar"),
    NP_("month, abbreviated", "Apr"), NP_("month, abbreviated", "May"), NP_("month, abbreviated", "Jun"),
    NP_("month, abbreviated", "Jul"), NP_("month, abbreviated", "Aug"), NP_("month, abbreviated", "Sep"),
    NP_("month, abbreviated", "Oct"), NP_("month, abbreviated", "Nov"), NP_("month, abbreviated", "Dec"),
)
MONTH_CONTEXTS = {"wide": "month", "abbreviated": "month, abbreviated"}

#: Weekday names, Monday first (Python's ``date.weekday()`` order).
WEEKDAYS_WIDE = (
    NP_("weekday", "Monday"), NP_("weekday", "Tuesday"), NP_("weekday", "Wednesday"),
    NP_("weekday", "Thursday"), NP_("weekday", "Friday"), NP_("weekday", "Saturday"), NP_("weekday", "Sunday"),
)
WEEKDAYS_ABBREVIATED = (
    NP_("weekday, abbreviated", "Mon"), NP_("weekday, abbreviated", "Tue"), NP_("weekday, abbreviated", "Wed"),
    NP_("weekday, abbreviated", "Thu"), NP_("weekday, abbreviated", "Fri"), NP_("weekday, abbreviated", "Sat"),
    NP_("weekday, abbreviated", "Sun"),
)
WEEKDAY_CONTEXTS = {"wide": "weekday", "abbreviated": "weekday, abbreviated"}

#: Before and after noon, as shown after a 12-hour time.
DAY_PERIODS = {"am": NP_("day period", "am"), "pm": NP_("day period", "pm")}

#: English (CLDR) names of the countries the portal serves (``vocabulary.DEFAULT_COUNTRIES``) and of
#: the nationalities most often met in its reports and notifications.
COUNTRIES = {
    "NZ": NP_("country", "New Zealand"), "AU": NP_("country", "Australia"), "WS": NP_("country", "Samoa"),
    "TO": NP_("country", "Tonga"), "FJ": NP_("country", "Fiji"), "CK": NP_("country", "Cook Islands"),
    "NU": NP_("country", "Niue"), "VU": NP_("country", "Vanuatu"), "PG": NP_("country", "Papua New Guinea"),
    "SB": NP_("country", "Solomon Islands"), "KI": NP_("country", "Kiribati"), "TV": NP_("country", "Tuvalu"),
    "NC": NP_("country", "New Caledonia"), "PF": NP_("country", "French Polynesia"),
    "TK": NP_("country", "Tokelau"), "NR": NP_("country", "Nauru"), "PW": NP_("country", "Palau"),
    "FM": NP_("country", "Micronesia"), "MH": NP_("country", "Marshall Islands"),
    "AS": NP_("country", "American Samoa"), "WF": NP_("country", "Wallis and Futuna"),
    "US": NP_("country", "United States"), "GB": NP_("country", "United Kingdom"), "CA": NP_("country", "Canada"),
    "CN": NP_("country", "China"), "HK": NP_("country", "Hong Kong"), "TW": NP_("country", "Taiwan"),
    "JP": NP_("country", "Japan"), "KR": NP_("country", "South Korea"), "IN": NP_("country", "India"),
    "ID": NP_("country", "Indonesia"), "MY": NP_("country", "Malaysia"), "PH": NP_("country", "Philippines"),
    "SG": NP_("country", "Singapore"), "TH": NP_("country", "Thailand"), "VN": NP_("country", "Vietnam"),
    "MX": NP_("country", "Mexico"), "CO": NP_("country", "Colombia"),
}
