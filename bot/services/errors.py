"""Domain errors carry a code; handlers turn codes into localized text."""


class DomainError(Exception):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
