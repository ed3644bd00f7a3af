"""NM-TRAN data sets: items, defaults, and errors that name the row and the column."""

import numpy as np
import pytest

from ifxdose.core.errors import InputError
from ifxdose.core.pk.nmtran import read_nmtran


def test_items_defaults_and_subjects():
    text = """ID,TIME,AMT,DV,MDV,CMT,WT
# a comment line
1,0,100,.,1,1,70
1,1,.,5.2,0,1,70
1,2,.,.,1,.,72
2,0,50,.,1,1,60
2,4,.,1.1,0,1,60
"""
    a, b = read_nmtran(text)
    assert (a.id, b.id) == ("1", "2")
    np.testing.assert_array_equal(a.evid, [1, 0, 2])  # no EVID: AMT > 0 is a dose, MDV 1 otherwise "other"
    np.testing.assert_array_equal(a.observation_index, [1])
    np.testing.assert_array_equal(a.covariates["WT"], [70, 70, 72])
    np.testing.assert_array_equal(a.rows, [1, 2, 3])
    np.testing.assert_array_equal(b.rows, [4, 5])


def test_blq_takes_lloq_from_the_column_or_from_dv():
    (s,) = read_nmtran("ID,TIME,AMT,DV,EVID,BLQ,LLOQ\n1,0,100,.,1,0,.\n1,5,.,.,0,1,0.1\n1,6,.,2,0,0,0.1")
    np.testing.assert_array_equal(s.blq, [False, True, False])
    assert s.lloq[1] == 0.1
    (s,) = read_nmtran("ID,TIME,AMT,DV,EVID,CENS\n1,0,100,.,1,0\n1,5,.,0.25,0,1")
    assert s.blq[1] and s.lloq[1] == 0.25  # M3 convention: DV holds the LLOQ


@pytest.mark.parametrize(
    "text, where",
    [
        ("ID,TIME,AMT,EVID\n1,0,100,1\n1,x,.,0", "row 2 column TIME"),
        ("ID,TIME,AMT,EVID\n1,0,100,7", "row 1 column EVID"),
        ("ID,TIME,AMT,EVID,DV\n1,0,100,1,.\n1,2,.,0,.", "row 2 column DV"),
        ("ID,TIME,AMT,EVID,RATE\n1,0,100,1,-3", "row 1 column RATE"),
        ("ID,TIME,AMT,EVID,SS\n1,0,100,1,1", "row 1 column II"),
        ("ID,TIME,AMT,EVID,ADDL\n1,0,100,1,2", "row 1 column II"),
        ("ID,TIME,AMT,EVID,ADDL,II\n1,0,100,1,1.5,12", "row 1 column ADDL"),
        ("ID,TIME,AMT,EVID,DV\n1,5,100,1,.\n1,2,.,0,3", "row 2 column TIME"),
        ("ID,TIME,AMT,EVID,DV\n1,0,100,1,.\n2,0,100,1,.\n1,3,.,0,3", "row 3 column ID"),
        ("ID,TIME,AMT,EVID,CMT\n1,0,100,1,-2", "row 1 column CMT"),
        ("ID,TIME,AMT,EVID,DV,BLQ\n1,0,100,1,.,0\n1,3,.,0,.,1", "row 2 column LLOQ"),
        ("ID,AMT\n1,100", "data header"),
        ("ID,TIME,AMT\n1,0", "row 1"),
    ],
)
def test_errors_name_row_and_column(text, where):
    with pytest.raises(InputError) as exc:
        read_nmtran(text)
    assert str(exc.value).startswith(where)


def test_commented_records_are_skipped():
    (s,) = read_nmtran("ID,TIME,AMT,EVID,C\n1,0,100,1,.\n1,1,100,1,C\n1,2,.,2,.")
    np.testing.assert_array_equal(s.time, [0, 2])
