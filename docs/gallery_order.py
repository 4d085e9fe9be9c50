"""The gallery's example order (``within_subsection_order`` in ``conf.py``)."""


class ExampleOrder:
    """The gallery's order, from the first fit to the specialised ones (file names would put the
    introduction last); an example not listed goes after these, by name."""

    FIRST = (
        "plot_two_views.py",
        "plot_semi_paired.py",
        "plot_cross_language.py",
        "plot_sparse_retrieval.py",
        "plot_bridge.py",
        "plot_custom_encoder.py",
        "plot_streaming.py",
        "plot_report.py",
    )

    def __init__(self, src_dir: str) -> None:
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[int, str]:
        return (self.FIRST.index(filename) if filename in self.FIRST else len(self.FIRST), filename)

    def __repr__(self) -> str:  # stable across builds (sphinx-gallery keys its cache on it)
        return "ExampleOrder"
