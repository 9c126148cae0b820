"""The first sync's question: is this CRM account a customer already imported from a spreadsheet?

Answered by the same rules as `refbot import` (`bot.importing.identity`): the same normalised domain is
the same company; otherwise the same company name (case, punctuation, accents and legal suffixes folded
away, or one typo apart, judged by `same_company_name`) is, unless the two domains contradict each other.
Only customers without a CRM id take part, and each is claimed once: after the first sync an account
is matched by its CRM id alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.importing.identity import company_key, normalise_domain, same_company_name


def _deletion_keys(key: str) -> set[str]:
    """The key and each one-character deletion of it: two keys one edit apart always share one."""
    return {key, *(key[:i] + key[i + 1 :] for i in range(len(key)))}


class SpreadsheetCustomers:
    """The customers not yet linked to the CRM, indexed by domain and by name for the matching above."""

    def __init__(self, customers: Iterable[tuple[int, str, str | None]]) -> None:
        self._by_domain: dict[str, int] = {}
        self._domain: dict[int, str | None] = {}
        self._key: dict[int, str] = {}
        self._by_probe: dict[str, list[int]] = {}
        for customer_id, name, domain in customers:
            normalised = normalise_domain(domain) if domain else None
            self._domain[customer_id] = normalised
            if normalised:
                self._by_domain.setdefault(normalised, customer_id)
            key = company_key(name)
            self._key[customer_id] = key
            for probe in _deletion_keys(key) if len(key) >= 4 else {key}:
                self._by_probe.setdefault(probe, []).append(customer_id)

    def __len__(self) -> int:
        return len(self._key)

    def claim(self, name: str, domain: str | None) -> int | None:
        """The spreadsheet customer this account is, removed from the index (each is claimed once), or None."""
        normalised = normalise_domain(domain) if domain else None
        if normalised:
            found = self._by_domain.get(normalised)
            if found is not None and found in self._key:
                self._forget(found)
                return found
        key = company_key(name)
        best: tuple[int, int] | None = None  # (exact match first, lowest id first)
        for probe in _deletion_keys(key) if len(key) >= 4 else {key}:
            for customer_id in self._by_probe.get(probe, ()):
                if customer_id not in self._key:
                    continue
                theirs = self._domain.get(customer_id)
                if normalised and theirs and theirs != normalised:
                    continue  # two different domains are two companies, however alike the names
                their_key = self._key[customer_id]
                if not same_company_name(key, their_key):
                    continue
                rank = (0 if their_key == key else 1, customer_id)
                if best is None or rank < best:
                    best = rank
        if best is None:
            return None
        self._forget(best[1])
        return best[1]

    def _forget(self, customer_id: int) -> None:
        del self._key[customer_id]
