"""MACRS GDS percentage tables from IRS Publication 946, Appendix A (public domain).

Table A-1 is the half-year convention; tables A-2 to A-5 are the mid-quarter convention for
property placed in service in the first to fourth quarter of the tax year. 3-, 5-, 7- and 10-year
property use 200 % declining balance, 15- and 20-year property 150 %, both switching to straight
line. Each percentage is of the unadjusted basis; each column sums to exactly 100.

The engine uses the published percentages, not a recomputation: the IRS rounds some cells in ways
a formula does not reproduce (A-3, 7-year, year 1 is 17.85, not 17.86), and tax software follows
the tables.
"""

from __future__ import annotations

from decimal import Decimal

#: Recovery periods (years) of the GDS property classes these tables cover.
RECOVERY_PERIODS: tuple[int, ...] = (3, 5, 7, 10, 15, 20)

_HALF_YEAR: dict[int, str] = {
    3: "33.33 44.45 14.81 7.41",
    5: "20.0 32.0 19.2 11.52 11.52 5.76",
    7: "14.29 24.49 17.49 12.49 8.93 8.92 8.93 4.46",
    10: "10.0 18.0 14.4 11.52 9.22 7.37 6.55 6.55 6.56 6.55 3.28",
    15: "5.0 9.5 8.55 7.7 6.93 6.23 5.9 5.9 5.91 5.9 5.91 5.9 5.91 5.9 5.91 2.95",
    20: (
        "3.75 7.219 6.677 6.177 5.713 5.285 4.888 4.522 4.462 4.461 "
        "4.462 4.461 4.462 4.461 4.462 4.461 4.462 4.461 4.462 4.461 2.231"
    ),
}

#: Keyed by the quarter of the tax year in which the property was placed in service (1..4).
_MID_QUARTER: dict[int, dict[int, str]] = {
    1: {  # Table A-2
        3: "58.33 27.78 12.35 1.54",
        5: "35.0 26.0 15.6 11.01 11.01 1.38",
        7: "25.0 21.43 15.31 10.93 8.75 8.74 8.75 1.09",
        10: "17.5 16.5 13.2 10.56 8.45 6.76 6.55 6.55 6.56 6.55 0.82",
        15: "8.75 9.13 8.21 7.39 6.65 5.99 5.9 5.91 5.9 5.91 5.9 5.91 5.9 5.91 5.9 0.74",
        20: (
            "6.563 7.0 6.482 5.996 5.546 5.13 4.746 4.459 4.459 4.459 "
            "4.459 4.46 4.459 4.46 4.459 4.46 4.459 4.46 4.459 4.46 0.565"
        ),
    },
    2: {  # Table A-3
        3: "41.67 38.89 14.14 5.3",
        5: "25.0 30.0 18.0 11.37 11.37 4.26",
        7: "17.85 23.47 16.76 11.97 8.87 8.87 8.87 3.34",
        10: "12.5 17.5 14.0 11.2 8.96 7.17 6.55 6.55 6.56 6.55 2.46",
        15: "6.25 9.38 8.44 7.59 6.83 6.15 5.91 5.9 5.91 5.9 5.91 5.9 5.91 5.9 5.91 2.21",
        20: (
            "4.688 7.148 6.612 6.116 5.658 5.233 4.841 4.478 4.463 4.463 "
            "4.463 4.463 4.463 4.463 4.462 4.463 4.462 4.463 4.462 4.463 1.673"
        ),
    },
    3: {  # Table A-4
        3: "25.0 50.0 16.67 8.33",
        5: "15.0 34.0 20.4 12.24 11.3 7.06",
        7: "10.71 25.51 18.22 13.02 9.3 8.85 8.86 5.53",
        10: "7.5 18.5 14.8 11.84 9.47 7.58 6.55 6.55 6.56 6.55 4.1",
        15: "3.75 9.63 8.66 7.8 7.02 6.31 5.9 5.9 5.91 5.9 5.91 5.9 5.91 5.9 5.91 3.69",
        20: (
            "2.813 7.289 6.742 6.237 5.769 5.336 4.936 4.566 4.46 4.46 "
            "4.46 4.46 4.461 4.46 4.461 4.46 4.461 4.46 4.461 4.46 2.788"
        ),
    },
    4: {  # Table A-5
        3: "8.33 61.11 20.37 10.19",
        5: "5.0 38.0 22.8 13.68 10.94 9.58",
        7: "3.57 27.55 19.68 14.06 10.04 8.73 8.73 7.64",
        10: "2.5 19.5 15.6 12.48 9.98 7.99 6.55 6.55 6.56 6.55 5.74",
        15: "1.25 9.88 8.89 8.0 7.2 6.48 5.9 5.9 5.9 5.91 5.9 5.91 5.9 5.91 5.9 5.17",
        20: (
            "0.938 7.43 6.872 6.357 5.88 5.439 5.031 4.654 4.458 4.458 "
            "4.458 4.458 4.458 4.458 4.458 4.458 4.458 4.459 4.458 4.459 3.901"
        ),
    },
}


def _parse(cells: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(cell) for cell in cells.split())


#: Table A-1: recovery period -> percentages per tax year (year 1 first).
HALF_YEAR_TABLE: dict[int, tuple[Decimal, ...]] = {
    period: _parse(cells) for period, cells in _HALF_YEAR.items()
}

#: Tables A-2..A-5: quarter placed in service -> recovery period -> percentages per tax year.
MID_QUARTER_TABLES: dict[int, dict[int, tuple[Decimal, ...]]] = {
    quarter: {period: _parse(cells) for period, cells in table.items()}
    for quarter, table in _MID_QUARTER.items()
}
