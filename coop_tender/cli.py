"""The `coop-tender` command line: one sub-command per capability, a thin call into the library.

Commands are declared here (name, arguments, help in French) and run a function
`module:function(args) -> int` imported only when the command runs, so `--help` stays fast
and a command never pays for another's imports (Prefect, OR-Tools, WeasyPrint).
A `UserError` ends the command with its one-line message and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from collections.abc import Callable, Sequence

from coop_tender.errors import EXIT_USAGE, UserError

Arg = tuple[tuple[str, ...], dict]

FRENCH_ARGPARSE = {
    "usage: ": "utilisation : ",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "afficher cette aide et quitter",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "unrecognized arguments: %s": "arguments inconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "choix inconnu : %(value)r (possibles : %(choices)s)"
    ),
    "invalid %(type)s value: %(value)r": "valeur invalide : %(value)r",
    "expected one argument": "une valeur attendue",
    "argument %(argument_name)s: %(message)s": "%(argument_name)s : %(message)s",
    "ambiguous option: %(option)s could match %(matches)s": (
        "option ambiguë : %(option)s peut être %(matches)s"
    ),
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
}
"""argparse's own messages, in French: it looks each up through its module's `_` at run time."""
argparse._ = lambda text: FRENCH_ARGPARSE.get(text, text)  # type: ignore[attr-defined]


def _arg(*names: str, **kwargs: object) -> Arg:
    return names, kwargs


def seconds(text: str) -> float:
    """A time limit: a finite number of seconds above zero (a negative or zero limit used to
    run the solve with no time at all and return the greedy's answer without a word)."""
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas une durée en secondes (> 0)")
    return value


WORKSPACE = _arg("--workspace", "-w", required=True, help="dossier de l'appel d'offres")

COMMANDS: dict[str, tuple[str, str, list[Arg]]] = {
    "schema": (
        "coop_tender.schemas:schema_command",
        "Exporter les schémas JSON des formats d'échange (tender, member, problem…).",
        [
            _arg(
                "name",
                nargs="?",
                help="un seul schéma : tender, member, policy, problem, allocation",
            ),
            _arg("--out", help="dossier où écrire un fichier NAME.schema.json par schéma"),
        ],
    ),
    "ingest": (
        "coop_tender.ingest:ingest_command",
        "Lire un avis de marché (eForms XML, enregistrement BOAMP, chemin ou URL) et son DQE.",
        [
            _arg("source", help="chemin ou URL http(s) de l'avis"),
            _arg("--out", required=True, help="fichier tender.json à écrire"),
            _arg("--dqe", help="DQE/BPU xlsx : un site par ligne"),
        ],
    ),
    "problem": (
        "coop_tender.workspace:problem_command",
        "Assembler problem.json (avis, DQE, déclarations, règles) d'un dossier d'appel d'offres.",
        [
            _arg("workspace", help="dossier de l'appel d'offres"),
            _arg("--out", required=True, help="fichier problem.json à écrire"),
        ],
    ),
    "allocate": (
        "coop_tender.allocation:allocate_command",
        "Répartir les sites et les heures entre les membres (OR-Tools CP-SAT).",
        [
            _arg("problem", help="problem.json"),
            _arg("--out", required=True, help="allocation.json à écrire"),
            _arg(
                "--time-limit", type=seconds, default=60.0, help="secondes pour toute la résolution"
            ),
        ],
    ),
    "forms": (
        "coop_tender.capacity.forms:forms_command",
        "Écrire un formulaire de capacités xlsx par membre invité, prérempli.",
        [
            _arg("workspace", help="dossier de l'appel d'offres"),
            _arg("--out", help="dossier de sortie (par défaut WORKSPACE/forms)"),
            _arg("--member", action="append", help="seulement ce membre (répétable)"),
        ],
    ),
    "import-capacity": (
        "coop_tender.capacity.forms:import_command",
        "Lire un formulaire de capacités rempli et l'enregistrer comme déclaration du membre.",
        [
            _arg("file", help="formulaire xlsx rempli"),
            _arg(
                "--workspace", "-w", help="dossier de l'appel d'offres (enregistre la déclaration)"
            ),
            _arg("--out", help="écrire la déclaration lue en JSON ici"),
        ],
    ),
    "invite": (
        "coop_tender.portal.invite:invite_command",
        "Créer les liens personnels des membres sur le portail (un par ligne : MEMBRE URL).",
        [
            WORKSPACE,
            _arg("--member", action="append", help="seulement ce membre (répétable)"),
            _arg(
                "--base-url",
                default=None,
                help="adresse du portail (par défaut http://127.0.0.1:8000)",
            ),
        ],
    ),
    "portal": (
        "coop_tender.portal.app:portal_command",
        "Lancer le portail web des membres et du coordinateur.",
        [
            WORKSPACE,
            _arg(
                "--host",
                default="127.0.0.1",
                help="adresse d'écoute (par défaut 127.0.0.1, ce poste seulement ; "
                "0.0.0.0 pour le réseau)",
            ),
            _arg("--port", type=int, default=8000, help="port (par défaut 8000)"),
        ],
    ),
    "dossier": (
        "coop_tender.docs:dossier_command",
        "Produire le dossier de candidature et les classeurs de répartition.",
        [
            _arg("workspace", help="dossier de l'appel d'offres"),
            _arg("--allocation", required=True, help="allocation.json"),
            _arg("--out", required=True, help="dossier de sortie"),
        ],
    ),
    "run": (
        "flows.cli:run_command",
        "Exécuter tout le flux de réponse (Prefect) sur un dossier d'appel d'offres.",
        [
            _arg("workspace", help="dossier de l'appel d'offres"),
            _arg("--out", required=True, help="dossier où écrire allocation, dossier et classeurs"),
            _arg("--time-limit", type=seconds, default=60.0, help="secondes pour la répartition"),
            _arg("--no-wait", action="store_true", help="ne pas attendre les membres"),
            _arg(
                "--portal-url",
                default=None,
                help="adresse du portail que les membres ouvriront, pour les liens des "
                "invitations (par défaut http://127.0.0.1:8000)",
            ),
        ],
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coop-tender",
        description="Répondre ensemble à un marché public : un réseau de SIAE en groupement.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
    for name, (target, help_text, args) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        for names, kwargs in args:
            cmd.add_argument(*names, **kwargs)
        cmd.set_defaults(_target=target)
    return parser


def _resolve(target: str) -> Callable[[argparse.Namespace], int]:
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `coop-tender`; returns the exit code (0 ok, 2 unusable input)."""
    args = build_parser().parse_args(argv)
    try:
        return int(_resolve(args._target)(args) or 0)
    except UserError as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrompu", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `coop-tender forms … | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
    except Exception as exc:  # a bug of ours: say so in one line, keep the traceback for developers
        if os.environ.get("COOP_TENDER_DEBUG"):
            raise
        print(
            f"erreur interne ({type(exc).__name__}: {exc}) — relancez avec COOP_TENDER_DEBUG=1 "
            "pour le détail et signalez-la",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
