"""The damaged-data fault trial: tiny PTB, One Billion Word and IWSLT'14 corpora in
their real formats, each file damaged every way a disk or a user damages it, each case run
through the real command line and classified (refused, rebuilt, changed, same, wrong,
traceback). ``corpora`` holds the corpora and their files, ``damage`` the ways to damage them,
``cases`` the list of cases, ``trial`` the runs and their classification;
``python -m scripts.data_fault_check`` (``make data-fault-check``) prints the trial."""
