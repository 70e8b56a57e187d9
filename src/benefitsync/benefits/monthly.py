"""The month-end job of one company: issue due voucher codes and let planned leavers leave.

Benefits whose end month has passed need no write: `EmployeeBenefit.is_active_in` reads the end
month, so they are simply inactive from the next month on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from benefitsync.benefits.vouchers import issue_due_vouchers
from benefitsync.employees.services import do_complete_leaving

if TYPE_CHECKING:
    from benefitsync.companies.models import Company


@dataclass(frozen=True)
class MonthEndResult:
    issued: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.issued or self.left)


def do_month_end(company: Company, *, today: dt.date) -> MonthEndResult:
    """Run the month-end work for `company` as of `today` (its local date).

    - issues codes for voucher selections of this and earlier months that have none yet;
    - turns Leaving planned into Left once the last working month is over (SPEC §4.3).
    Idempotent: a second run on the same day changes nothing. Safe to run daily or hourly.
    """
    issued = issue_due_vouchers(company, today=today)
    left = do_complete_leaving(company, today=today)
    return MonthEndResult(issued=issued, left=left)
