"""The resolver's clash checks: two assets with one name or one output file, and a
derived file that is some other asset's file. Kept apart from resolve.py because they
look across assets, after each was resolved alone."""

from __future__ import annotations

from ..schema.yamlpos import Path
from ..spec import AssetSpec
from .models import ModelRules
from .rules import _referenced


class ClashRules(ModelRules):
    def _register(
        self,
        spec: AssetSpec,
        template: str,
        names: dict[str, tuple[Path, str]],
        outputs: dict[str, tuple[str, str, str]],
    ) -> bool:
        """Record a resolved spec; False (with a located error) when it clashes with another."""
        origin: Path = ("assets", template)
        if spec.name in names:
            first, first_template = names[spec.name]
            if first_template == template:
                message = f"`{template}` expands to `{spec.name}` more than once"
            else:
                line = self.pos.of(first, key=True)[0]
                expanded = f" (expanded from `{template}`)" if spec.name != template else ""
                message = (
                    f"asset name `{spec.name}`{expanded} is already used (first at line {line})"
                )
            self.error(origin, message, "names must be unique after matrix expansion", key=True)
            return False
        names[spec.name] = (origin, template)
        folded = spec.output.casefold()
        if folded in outputs:
            other, other_output, other_template = outputs[folded]
            if other_template == template and other_output == spec.output:
                keys = " ".join(f"`${{{k}}}`" for k in sorted(_referenced(template)))
                message = f"every `{template}` asset writes the same `{spec.output}`"
                hint = f"use the matrix keys in `output` ({keys}) so each gets its own file"
            elif other_output == spec.output:
                message = f"assets `{other}` and `{spec.name}` both write `{spec.output}`"
                hint = "give one of them another `output`"
            else:
                message = (
                    f"assets `{other}` and `{spec.name}` write `{other_output}` and "
                    f"`{spec.output}`, which differ only in case"
                )
                hint = "they are the same file on macOS and Windows; rename one"
            where = (*origin, "output")
            has_output = where in self.pos.values
            self.error(where if has_output else origin, message, hint, key=not has_output)
            return False
        outputs[folded] = (spec.name, spec.output, template)
        return True

    def _check_derived_paths(self, specs: list[AssetSpec], templates: dict[str, str]) -> None:
        """A derived path may be no other asset's output and no other asset's derived file."""
        if not any(s.derived for s in specs):
            return
        taken = {s.output.casefold(): (s.name, "output") for s in specs}
        for spec in specs:
            for path, _ in spec.derived:
                folded = path.casefold()
                other = taken.get(folded)
                if other is None:
                    taken[folded] = (spec.name, "derived file")
                    continue
                where: Path = ("assets", templates[spec.name], "derive")
                if where not in self.pos.values:
                    where = ("defaults", "derive")
                self.error(
                    where,
                    f"`{spec.name}` derives `{path}`, which is already asset `{other[0]}`'s {other[1]}",
                    "give the derived file another `output` (${name} keeps them apart)",
                )
