"""WMT'16 English-German as the RAdam paper used it (fairseq's "Scaling NMT" setup: WMT'16
training data, newstest2013 validation, newstest2014 test, joint 32k BPE): the two sources and
their layout (``files``), the native preparation from the hub's parquet files (``hub``), and
``python -m scripts.download_data wmt16`` (``download``)."""
