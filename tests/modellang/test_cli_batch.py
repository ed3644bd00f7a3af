"""`ifxdose estimate --data --model --out` and `ifxdose model check`, in-process."""

import numpy as np
from tests.modellang.conftest import ONE_CMT
from typer.testing import CliRunner

from ifxdose.adapters.cli import app
from ifxdose.core.estimation.general import estimate_subject
from ifxdose.core.pk.nmtran import read_nmtran
from ifxdose.domain.modelfiles import load_model

DATA = """ID,TIME,AMT,EVID,MDV,DV,WT
1,0,100,1,1,.,70
1,5,.,0,0,11,70
1,10,.,0,0,7.5,70
2,0,100,1,1,.,90
2,5,.,0,0,14,90
2,10,.,0,0,5,90
3,0,100,1,1,.,80
"""


def _model_file(tmp_path):
    p = tmp_path / "wt_model.toml"
    p.write_text(
        ONE_CMT.replace(
            "[theta]", '[covariates.WT]\nunit = "kg"\nlow = 20\nhigh = 250\nreference = 70\n[theta]'
        ).replace("CL = TVCL*exp(ETA_CL)", "CL = TVCL*(WT/70)**0.75*exp(ETA_CL)")
    )
    return p


def test_batch_estimate_writes_one_row_per_subject_equal_to_the_single_fit(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text(DATA)
    out = tmp_path / "etas.csv"
    mfile = _model_file(tmp_path)
    for workers in ("1", "2"):
        res = CliRunner().invoke(
            app, ["estimate", "--data", str(data), "--model", str(mfile), "--out", str(out), "--workers", workers]
        )
        assert res.exit_code == 0, res.output
        lines = out.read_text().splitlines()
        assert lines[0] == "ID,ETA1,ETA2,OFV,warnings"
        assert [ln.split(",")[0] for ln in lines[1:]] == ["1", "2", "3"]
        m = load_model(str(mfile))
        for line, rec in zip(lines[1:3], read_nmtran(DATA)):
            _, fit = estimate_subject(m, rec)
            np.testing.assert_allclose([float(x) for x in line.split(",")[1:4]], [*fit.eta, fit.ofv], rtol=1e-12)
        assert "no drug levels" in lines[3]


def test_batch_with_a_library_model_by_name_and_a_models_directory(tmp_path, monkeypatch):
    data = tmp_path / "d.csv"
    data.write_text("ID,TIME,AMT,RATE,EVID,MDV,DV,weight_kg\n1,0,300,3600,1,1,.,60\n1,56,.,.,0,0,4.2,60\n")
    res = CliRunner().invoke(app, ["estimate", "--data", str(data), "--model", "passot_2016_ra", "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0] == "ID,ETA1,ETA2,OFV,warnings"
    assert "covariate ada is not in the data: the model's reference 0 is used" in res.stdout
    _model_file(tmp_path)
    monkeypatch.setenv("IFXDOSE_MODELS_DIR", str(tmp_path))
    res = CliRunner().invoke(app, ["model", "check", "wt_model"])
    assert res.exit_code == 0, res.output
    assert "matrix-exponential" in res.stdout and "WT" in res.stdout


def test_batch_errors_are_one_line_naming_the_problem(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("ID,TIME,AMT,EVID,MDV,DV\n1,0,100,1,1,.\n1,5,.,0,0,11\n")
    mfile = _model_file(tmp_path)
    mfile.write_text(mfile.read_text().replace("reference = 70\n", ""))
    res = CliRunner().invoke(app, ["estimate", "--data", str(data), "--model", str(mfile)])
    assert res.exit_code != 0
    assert "WT" in str(res.exception)
    res = CliRunner().invoke(app, ["estimate", "--data", str(data), "--model", "no_such_model"])
    assert "known models are" in str(res.exception)


def test_public_load_model_takes_a_path_or_a_library_name(tmp_path):
    import ifxdose
    from ifxdose.core.pk.general import GeneralModel
    from ifxdose.core.pk.model import PKModel

    assert isinstance(ifxdose.load_model(str(_model_file(tmp_path))), GeneralModel)
    assert isinstance(ifxdose.load_model("passot_2016_ra"), PKModel)
