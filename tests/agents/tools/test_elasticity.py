import numpy as np

from agents.tools._common import rounded


def test_moduli_by_id_and_formula(call, sample):
    out = call("get_elasticity", material_ids=["mp-149"], formula=["GaN"])
    by_id = {r["material_id"]: r for r in out["results"]}
    assert set(by_id) == {"mp-149", "mp-804"}
    for material_id, record in by_id.items():
        for field in ("bulk_modulus", "shear_modulus", "homogeneous_poisson"):
            assert record[field] == rounded(sample[material_id][field]), field
        assert "elastic_tensor" not in record  # the sample stores none


def test_elastic_tensor_goes_to_the_artifact_store(call_tensors, artifacts):
    out = call_tensors("get_elasticity", material_ids=["mp-149"])
    handle = out["results"][0]["elastic_tensor"]
    assert handle.startswith("artifact://array/") and len(str(out)) < 1000  # a handle, not 36 numbers
    tensor = artifacts.get_array(handle)
    assert tensor.shape == (6, 6) and np.allclose(tensor, tensor.T) and tensor[0, 0] > tensor[0, 1] > 0
    assert artifacts.meta(handle)["material_id"] == "mp-149" and artifacts.meta(handle)["units"] == "GPa"


def test_formula_without_material(call):
    assert call("get_elasticity", formula=["Fe7Si3"]) == "get_elasticity: no material matches formula=[Fe7Si3]: not in Materials Project"
