"""Wanzhuang's charger cloud (its open API, wz-open): our data in its shapes."""
