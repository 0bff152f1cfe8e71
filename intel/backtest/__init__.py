"""Backtest (CONTRACTS §3): the worker's detector run over history, tick by tick.

It sits above both ``intel.detect`` (the counts, rules and ``evaluate``) and
``intel.incidents`` (``lifecycle.advance``), so neither of those needs to import the other
to replay history; the worker and ``python -m intel backtest`` thereby decide alike.
"""

from intel.backtest.run import (
    BacktestResult,
    backtest_store,
    contract_incident,
    counts_for,
    run_backtest,
)

__all__ = ["BacktestResult", "backtest_store", "contract_incident", "counts_for", "run_backtest"]
