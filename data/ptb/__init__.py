"""Penn Treebank in Mikolov's preprocessing (``simple-examples``): the reader and dictionary
(``files``) and ``python -m scripts.download_data ptb`` (``download``)."""
