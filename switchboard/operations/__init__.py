"""Operations of the switchboard: plain functions that change models and flush."""
