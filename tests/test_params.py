"""The parameter table (corrnet.params) is the one place a setting is declared."""

import inspect

import pytest
from sklearn.base import clone

from corrnet import Config, CorrNet, MultiViewCorrNet
from corrnet.params import BY_NAME, PARAMS, estimator_parameters


@pytest.mark.parametrize("cls,n_views", [(CorrNet, False), (MultiViewCorrNet, True)])
def test_each_estimator_takes_its_signature_defaults_and_docs_from_the_table(cls, n_views):
    sig = inspect.signature(cls)
    rows = estimator_parameters(n_views)
    assert list(sig.parameters) == [p.name for p in rows]
    for p in rows:
        assert sig.parameters[p.name].default == p.default_for(n_views)
        assert f"\n    {p.name} : {p.doc_type}, " in cls.__doc__, p.name  # numpydoc entry, from the table
    assert "{parameters}" not in cls.__doc__
    est = cls(**{p.name: p.default_for(n_views) for p in rows})
    assert est.get_params() == cls().get_params()
    assert clone(cls(lr=0.5)).lr == 0.5  # scikit-learn's contract: parameters stored unchanged


def test_config_is_the_table_rows_marked_config():
    fields = Config.__dataclass_fields__
    assert list(fields) == [p.name for p in PARAMS if p.config]
    for name, f in fields.items():
        assert f.default == BY_NAME[name].config_value()
    # the estimators' "auto" settings are Config's concrete defaults only where a module needs them
    assert {n for n in fields if BY_NAME[n].default != fields[n].default} == {
        "output_activation",
        "epochs",
        "optimizer",
        "lr",
        "lam",
        # correlation="auto" and what it decides (corrnet.config.resolve_model)
        "correlation",
        "encoder_layers",
        "encoder_activation",
        "encoder_norm",
        "hidden_activation",
        "init",
        "batch_size",
    }


def test_positional_and_unknown_arguments_fail_like_a_written_signature():
    assert CorrNet(7).n_components == 7
    with pytest.raises(TypeError):
        CorrNet(7, 0.1)  # everything after n_components is keyword-only
    with pytest.raises(TypeError):
        CorrNet(learning_rate=0.1)
    with pytest.raises(TypeError):
        MultiViewCorrNet(validation_fraction=0.1)  # CorrNet's only
