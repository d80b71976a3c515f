"""IWSLT'14 German-English as fairseq prepares it (``examples/translation/prepare-iwslt14.sh``):
where the files live (``files``), the native preparation (``prepare``), and
``python -m scripts.download_data iwslt14`` (``download``)."""
