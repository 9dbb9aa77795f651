"""Depth datasets: the frame record, readers and writers per format, TFRecords, tf.data."""
