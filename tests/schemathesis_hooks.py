"""Schemathesis hooks of tests/http_openapi.rs: the string formats of the
HTTP document whose rule JSON Schema cannot state, taught to the fuzzer so
that what it calls schema-valid is valid.

`iban`: an IBAN passes its ISO 13616 check digits (mod 97), which no pattern
can say; the fuzzer draws French IBANs, their RIB key and check digits
computed as `Iban::french` computes them in events-schema.
"""

import schemathesis
from hypothesis import strategies as st


def french_iban(bank: int, branch: int, account: int) -> str:
    key = 97 - (89 * bank + 15 * branch + 3 * account) % 97
    bban = f"{bank:05}{branch:05}{account:011}{key:02}"
    digits = "".join(str(int(c, 36)) for c in bban + "FR00")
    return f"FR{98 - int(digits) % 97:02}{bban}"


schemathesis.openapi.format(
    "iban",
    st.builds(
        french_iban,
        st.integers(0, 99_999),
        st.integers(0, 99_999),
        st.integers(0, 99_999_999_999),
    ),
)
