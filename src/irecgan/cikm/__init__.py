"""CIKM Cup 2016 (DIGINETICA): raw-file converter and a synthetic raw-file generator (SPEC 2.1b)."""
