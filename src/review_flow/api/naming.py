"""Stable, unique names for the schemas of the OpenAPI document.

Client generators name their types after the document's component names (and titles).
spectree's default names every component ``<Class>.<hash of module>`` and copies each nested
model under every parent that uses it (``Article.95e001a.Person``,
``ArticleList.95e001a.Person``, ...), so a generator emitted one type per copy and dropped
the responses whose names clashed. Here a component is named by its class alone, and one
model nested in several parents is one component: the names are the classes' names, stable
across releases and module moves.

Two different models under one name would silently make one of them wrong, so this is
refused when the document is built (:class:`SchemaNameClash`), whether the two are top
level, nested, or one of each."""

from __future__ import annotations

from typing import Any

from spectree import SpecTree


class SchemaNameClash(RuntimeError):
    """Two different schemas would share one component name (a bug in ``schemas``)."""


def model_name(model: Any) -> str:
    return str(model.__name__)


def nested_name(_parent: str, child: str) -> str:
    return child


def _operation_id(func: Any, _path: str, _method: str) -> str:
    return str(func.__name__)


def _bare(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != "$defs"}


class NamedSpecTree(SpecTree):
    """spectree with :func:`model_name` and :func:`nested_name`, refusing name clashes."""

    def __init__(self, backend_name: str, **kwargs: Any) -> None:
        kwargs.update(naming_strategy=model_name, nested_naming_strategy=nested_name)
        super().__init__(backend_name, **kwargs)
        self._classes: dict[str, Any] = {}
        # (model, mode) pairs already described: many routes share models (every error
        # response is one), and describing a model again gives the same schema; skipping
        # the repeat keeps importing the API (in every app server worker) fast.
        self._described: set[tuple[Any, str]] = set()
        # operationId: the view function's name, which Flask already keeps unique within
        # the blueprint (it is the endpoint name); generators name their functions by it.
        self.backend.get_func_operation_id = _operation_id  # type: ignore[method-assign,assignment]

    def _add_model(self, model: Any, mode: Any = "validation") -> str:
        name = model_name(model)
        if (model, str(mode)) in self._described:
            return name
        known = self._classes.setdefault(name, model)
        if known is not model:
            raise SchemaNameClash(
                f"two models are named {name!r}: {known.__module__} and {model.__module__}"
            )
        before = self.models.get(name)
        key = str(super()._add_model(model, mode))
        if before is not None and _bare(before) != _bare(self.models[key]):
            # The same class as a request (validation) and as a response (serialization)
            # must have one schema, or one of the two uses would be described wrongly.
            raise SchemaNameClash(f"{name!r} has different schemas as request and response")
        self._described.add((model, str(mode)))
        return key

    def _get_model_definitions(self) -> dict[str, Any]:
        definitions: dict[str, Any] = {}
        for parent, schema in self.models.items():
            for key, value in schema.pop("$defs", {}).items():
                name = nested_name(parent, key)
                for known in (definitions.get(name), self.models.get(name)):
                    if known is not None and _bare(known) != value:
                        raise SchemaNameClash(
                            f"{name!r} (in {parent!r}) differs from another schema of that name"
                        )
                definitions[name] = value
        return definitions
