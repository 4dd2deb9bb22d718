import pytest
import torch

from coursekit import data


@pytest.fixture(scope="session")
def digits():
    return data.digits()
