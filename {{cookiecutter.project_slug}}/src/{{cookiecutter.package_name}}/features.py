"""The feature transformation: feature-table columns in, the model's numeric matrix out.

One scikit-learn ``ColumnTransformer``, fitted on the training split only (PreprocessTrain),
saved with joblib, shipped inside the model bundle, and applied unchanged to new data
(PreprocessPredict) and to requests (inference.py).

Its input must first go through ``validation.conform_feature_table`` (or
``conform_request``), which gives every column one dtype: numbers as float64 with NaN,
categories as Python strings with None. (The encoder would take None and NaN for two
different categories.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder

from {{ cookiecutter.package_name }} import schema

# Random forests compute in float32 whatever they are given, so float32 sets lose nothing
# and halve what the steps write and read.
MATRIX_DTYPE = np.float32


def build_transformer() -> ColumnTransformer:
    """Numbers: missing values become the training median. Categories: one column per value
    seen in training (missing is a value of its own); values never seen become all zeros.
    Which features are which comes from the data contract."""
    of = schema.contract()
    transformer = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), list(of.numeric_features)),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=MATRIX_DTYPE),
                list(of.categorical_features),
            ),
        ],
        remainder="drop",
        # Short output names ("<feature>_<value>"), safe because input names are unique.
        verbose_feature_names_out=False,
    )
    return transformer.set_output(transform="pandas")


def transform(transformer: ColumnTransformer, features: pd.DataFrame) -> pd.DataFrame:
    """The model matrix of a conformed feature table, one named float32 column per model input."""
    matrix = transformer.transform(features[list(transformer.feature_names_in_)])
    return matrix.astype(MATRIX_DTYPE).set_axis(features.index, axis="index")


def fit_transform(features: pd.DataFrame) -> tuple[ColumnTransformer, pd.DataFrame]:
    transformer = build_transformer().fit(features[list(schema.contract().feature_names)])
    return transformer, transform(transformer, features)
