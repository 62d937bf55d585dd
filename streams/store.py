"""RocksDB tables under one memory budget for the whole worker.

Faust opens one RocksDB database per table and partition (4 tables x 8 partitions = 32 here),
and gives each its own block cache and memtables, so a worker's memory grew with
tables x partitions: with 32 MiB caches and 2 x 8 MiB memtables per database, peak RSS passed
400 MB before 400,000 orders. This store gives every database of the worker one shared LRU
block cache and one write-buffer manager that charges memtables to that same cache, so RocksDB
holds at most `memory_budget_mb` in total (RocksDB flushes memtables early to stay within it).

`rocksdb://` in the store setting resolves to this class once `install()` ran (make_app does);
only the rocksdict driver (the `rocksdb` extra) is budgeted, python-rocksdb keeps Faust's options.
"""
from __future__ import annotations

from typing import Any

from faust.stores import STORES
from faust.stores import rocksdb as faust_rocksdb

DEFAULT_MEMORY_BUDGET_MB = 128
_budget: dict[str, Any] = {"mb": DEFAULT_MEMORY_BUDGET_MB, "cache": None, "write_buffers": None}


def configure(memory_budget_mb: int) -> None:
    """Set the worker's RocksDB budget; before the first table opens (later calls raise)."""
    if _budget["cache"] is not None and memory_budget_mb != _budget["mb"]:
        raise RuntimeError("the RocksDB memory budget is fixed once a table has opened")
    _budget["mb"] = memory_budget_mb


def shared_cache_and_write_buffers():
    """The worker's one block cache and the write-buffer manager charging memtables to it."""
    if _budget["cache"] is None:
        import rocksdict

        total = _budget["mb"] * 1024**2
        _budget["cache"] = rocksdict.Cache(total)
        # Memtables may take up to half of the budget; their memory is counted in the cache.
        _budget["write_buffers"] = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
            total // 2, False, _budget["cache"])
    return _budget["cache"], _budget["write_buffers"]


class BudgetedOptions(faust_rocksdb.RocksDBOptions):
    def as_options(self):
        options = super().as_options()
        if not self.use_rocksdict:
            return options
        import rocksdict

        cache, write_buffers = shared_cache_and_write_buffers()
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, True)
        table.set_block_cache(cache)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        options.set_write_buffer_manager(write_buffers)
        return options


class Store(faust_rocksdb.Store):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `self.options` is what Faust built its RocksDBOptions from (read_only/driver popped).
        self.rocksdb_options = BudgetedOptions(**self.options, use_rocksdict=self.use_rocksdict)


def install() -> None:
    """Make `rocksdb://` open budgeted stores in this process."""
    STORES.get_alias("memory")   # let Faust load plugin aliases first, so ours is not overwritten
    STORES.aliases["rocksdb"] = f"{__name__}:Store"
