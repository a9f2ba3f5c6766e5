"""The partner platform's 2017 pile-operator interface, which we serve: our data in its shapes."""
