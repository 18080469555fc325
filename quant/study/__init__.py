"""The next-day prediction study (BP network, 1-D LSTM, multi-dimensional LSTM): single-stock
series, window builders, the train/validation/test pipeline, the parameter combination
library, the grid search and the report. See docs/prediction_study.md."""
