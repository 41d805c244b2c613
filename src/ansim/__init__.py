"""Ansim."""

from ansim._numba_cache import use_user_cache

use_user_cache()  # before any numba kernel is defined: its cache goes to the user cache folder
