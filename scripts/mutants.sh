#!/usr/bin/env bash
# Mutation testing of the rule modules (issue 21, item 3). NOT run in CI: it
# is a yardstick for the tests, run by hand. See docs/testing.md.
#
#   scripts/mutants.sh                    # every module in the table, in order
#   scripts/mutants.sh lot_account ceiling  # just these (keys of the table below)
#   scripts/mutants.sh --list             # the table: key, module, tests
#   MUTANTS_JOBS=1 scripts/mutants.sh ... # parallel mutant runs (default 2)
#
# Needs mutmut 3 in the venv (.venv/bin/pip install -e ".[mutation]"). For each module
# it builds a scratch copy under .mutants/<key>/ (git-ignored) with a
# generated setup.cfg that mutates only that module and runs only the tests
# mapped to it below, on SQLite only (-k 'not postgresql'), stopping at the
# first failure (-x). mutmut maps each mutated function to the tests that
# execute it and runs only those per mutant. The per-module summary lands in
# .mutants/<key>/summary.txt; the survivors' diffs in .mutants/<key>/survivors.diff.
#
# Inspect one mutant afterwards:
#   cd .mutants/<key> && ../../.venv/bin/mutmut show <mutant name>
# The survivors so far, by kind (words only, index dropped, code), while a run goes on:
#   .venv/bin/python scripts/mutants_report.py <key>
# A function every test runs (a replay step) meets its unit test as late as its slowest integration
# test: stop the run, try its unchecked mutants against the fast tests first, then resume the run
# (cd .mutants/<key> && ../../.venv/bin/mutmut run --max-children 1):
#   .venv/bin/python scripts/mutants_prescreen.py <key> 'registry.replay.bulk.*' tests/unit/registry/test_x.py
# For the replay parts, skip the words-only mutants first and keep results across machines:
#   .venv/bin/python scripts/mutants_skip_words.py <key>
#   .venv/bin/python scripts/mutants_results.py save|restore <key>     # docs/mutants/<key>.json
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MUTMUT=${MUTMUT:-$ROOT/.venv/bin/mutmut}
JOBS=${MUTANTS_JOBS:-2}

# key | module(s) to mutate (globs, space separated) | tests (space separated)
# Unit tests first: they are fast and mutmut stops a mutant at the first failure.
TABLE=$(cat <<'EOF'
lot_account|registry/lot_account.py|tests/unit/registry/test_lot_account.py tests/api/test_rule_checks.py tests/api/test_double_counting.py tests/api/test_lot_rules.py tests/integration/test_replay_rules_double_counting.py
ceiling|registry/additionality/ceiling.py|tests/unit/registry/test_ceiling.py tests/api/test_double_counting.py tests/api/test_generation.py
lot_rules|registry/lot_rules.py|tests/unit/registry/test_lot_rules.py tests/api/test_lot_rules.py
claims|registry/claims.py|tests/unit/registry/test_claims.py tests/api/test_double_counting.py tests/api/test_name_identity.py
lots|registry/lots.py|tests/api/test_lots.py tests/api/test_rule_checks.py tests/api/test_double_counting.py tests/api/test_lot_rules.py tests/api/test_certifier_scope.py tests/api/test_corrections.py tests/api/test_supplier_inputs.py tests/api/test_generation_lot_certificate.py tests/api/test_units_add_up.py tests/api/test_certificate_lifecycle.py tests/api/test_custody_generation.py tests/api/test_name_identity.py tests/api/test_worked_examples.py
generation|registry/generation.py|tests/api/test_generation.py tests/api/test_generation_preview.py tests/api/test_double_counting.py tests/api/test_rule_checks.py tests/api/test_generation_lot_certificate.py tests/api/test_custody_generation.py tests/api/test_units_add_up.py tests/api/test_worked_examples.py tests/workspace/test_generator_pages.py tests/api/test_certificate_lifecycle.py
determinations|registry/determinations.py|tests/api/test_determinations.py tests/api/test_rule_checks.py tests/api/test_double_counting.py tests/api/test_certifier_scope.py tests/api/test_corrections.py tests/api/test_generation.py tests/api/test_generation_one_year.py tests/api/test_generation_preview.py tests/api/test_certificate_lifecycle.py
additionality|registry/additionality/__init__.py registry/additionality/class_tests.py registry/additionality/determination.py registry/additionality/model.py registry/additionality/newness.py|tests/unit/registry/test_additionality.py
retirements|registry/retirements.py|tests/unit/registry/test_retirements.py tests/api/test_retirements.py tests/api/test_name_identity.py tests/api/test_exports_statements.py tests/workspace/test_downloads.py tests/api/test_honest_claims.py tests/api/test_bulk.py
use_period|registry/use_period.py|tests/unit/registry/test_use_period.py
replay|registry/replay/*.py|tests/integration/test_replay_rules.py tests/integration/test_replay_rules_double_counting.py tests/integration/test_replay_scope.py tests/integration/test_verify_replay.py tests/integration/test_replay_claim_and_input_rules.py tests/integration/test_replay_generation_lot.py tests/integration/test_replay_certificate_history.py tests/integration/test_replay_disputes.py tests/integration/test_replay_rules_custody.py tests/unit/registry/test_offers_and_bulk_replay.py tests/integration/test_verify_tables.py tests/integration/test_verify_tamper.py tests/integration/test_verify_proof_rules.py tests/integration/test_verify_scratch.py tests/integration/test_replay_offer_checks.py tests/integration/test_replay_payload_shapes.py tests/integration/test_replay_registry_checks.py tests/integration/test_replay_block_checks.py tests/integration/test_replay_lines.py tests/integration/test_migration_certificate_history.py tests/integration/test_staff_roles.py tests/api/test_name_identity.py tests/api/test_units_add_up.py tests/api/test_participant_details.py tests/api/test_offers.py
replay_blocks|registry/replay/block_events.py registry/replay/claim_rules.py registry/replay/generation_checks.py registry/replay/unit_checks.py registry/replay/name_rules.py|tests/integration/test_replay_rules.py tests/integration/test_replay_rules_double_counting.py tests/integration/test_replay_scope.py tests/integration/test_verify_replay.py tests/integration/test_replay_claim_and_input_rules.py tests/integration/test_replay_generation_lot.py tests/integration/test_replay_certificate_history.py tests/integration/test_replay_disputes.py tests/integration/test_replay_rules_custody.py tests/unit/registry/test_offers_and_bulk_replay.py tests/integration/test_verify_tables.py tests/integration/test_verify_tamper.py tests/integration/test_verify_proof_rules.py tests/integration/test_verify_scratch.py tests/integration/test_replay_offer_checks.py tests/integration/test_replay_payload_shapes.py tests/integration/test_replay_registry_checks.py tests/integration/test_replay_block_checks.py tests/integration/test_replay_lines.py tests/integration/test_migration_certificate_history.py tests/integration/test_staff_roles.py tests/api/test_name_identity.py tests/api/test_units_add_up.py tests/api/test_participant_details.py tests/api/test_offers.py
replay_registry|registry/replay/registry_events.py registry/replay/certificate_state.py registry/replay/staff_roles.py registry/replay/amendments.py|tests/integration/test_replay_rules.py tests/integration/test_replay_rules_double_counting.py tests/integration/test_replay_scope.py tests/integration/test_verify_replay.py tests/integration/test_replay_claim_and_input_rules.py tests/integration/test_replay_generation_lot.py tests/integration/test_replay_certificate_history.py tests/integration/test_replay_disputes.py tests/integration/test_replay_rules_custody.py tests/unit/registry/test_offers_and_bulk_replay.py tests/integration/test_verify_tables.py tests/integration/test_verify_tamper.py tests/integration/test_verify_proof_rules.py tests/integration/test_verify_scratch.py tests/integration/test_replay_offer_checks.py tests/integration/test_replay_payload_shapes.py tests/integration/test_replay_registry_checks.py tests/integration/test_replay_block_checks.py tests/integration/test_replay_lines.py tests/integration/test_migration_certificate_history.py tests/integration/test_staff_roles.py tests/api/test_name_identity.py tests/api/test_units_add_up.py tests/api/test_participant_details.py tests/api/test_offers.py
replay_trading|registry/replay/offers.py registry/replay/bulk.py registry/replay/disputes.py|tests/integration/test_replay_rules.py tests/integration/test_replay_rules_double_counting.py tests/integration/test_replay_scope.py tests/integration/test_verify_replay.py tests/integration/test_replay_claim_and_input_rules.py tests/integration/test_replay_generation_lot.py tests/integration/test_replay_certificate_history.py tests/integration/test_replay_disputes.py tests/integration/test_replay_rules_custody.py tests/unit/registry/test_offers_and_bulk_replay.py tests/integration/test_verify_tables.py tests/integration/test_verify_tamper.py tests/integration/test_verify_proof_rules.py tests/integration/test_verify_scratch.py tests/integration/test_replay_offer_checks.py tests/integration/test_replay_payload_shapes.py tests/integration/test_replay_registry_checks.py tests/integration/test_replay_block_checks.py tests/integration/test_replay_lines.py tests/integration/test_migration_certificate_history.py tests/integration/test_staff_roles.py tests/api/test_name_identity.py tests/api/test_units_add_up.py tests/api/test_participant_details.py tests/api/test_offers.py
replay_custody|registry/replay/custody_events.py registry/replay/custody_periods.py|tests/integration/test_replay_rules.py tests/integration/test_replay_rules_double_counting.py tests/integration/test_replay_scope.py tests/integration/test_verify_replay.py tests/integration/test_replay_claim_and_input_rules.py tests/integration/test_replay_generation_lot.py tests/integration/test_replay_certificate_history.py tests/integration/test_replay_disputes.py tests/integration/test_replay_rules_custody.py tests/unit/registry/test_offers_and_bulk_replay.py tests/integration/test_verify_tables.py tests/integration/test_verify_tamper.py tests/integration/test_verify_proof_rules.py tests/integration/test_verify_scratch.py tests/integration/test_replay_offer_checks.py tests/integration/test_replay_payload_shapes.py tests/integration/test_replay_registry_checks.py tests/integration/test_replay_block_checks.py tests/integration/test_replay_lines.py tests/integration/test_migration_certificate_history.py tests/integration/test_staff_roles.py tests/api/test_name_identity.py tests/api/test_units_add_up.py tests/api/test_participant_details.py tests/api/test_offers.py
replay_core|registry/replay/__init__.py registry/replay/state.py registry/replay/scratch.py registry/replay/table_fields.py|tests/integration/test_replay_rules.py tests/integration/test_replay_rules_double_counting.py tests/integration/test_replay_scope.py tests/integration/test_verify_replay.py tests/integration/test_replay_claim_and_input_rules.py tests/integration/test_replay_generation_lot.py tests/integration/test_replay_certificate_history.py tests/integration/test_replay_disputes.py tests/integration/test_replay_rules_custody.py tests/unit/registry/test_offers_and_bulk_replay.py tests/integration/test_verify_tables.py tests/integration/test_verify_tamper.py tests/integration/test_verify_proof_rules.py tests/integration/test_verify_scratch.py tests/integration/test_replay_offer_checks.py tests/integration/test_replay_payload_shapes.py tests/integration/test_replay_registry_checks.py tests/integration/test_replay_block_checks.py tests/integration/test_replay_lines.py tests/integration/test_migration_certificate_history.py tests/integration/test_staff_roles.py tests/api/test_name_identity.py tests/api/test_units_add_up.py tests/api/test_participant_details.py tests/api/test_offers.py
merkle|chainlog/merkle.py|tests/unit/chainlog/test_merkle_refusals.py tests/unit/chainlog/test_merkle_vectors.py tests/unit/chainlog/test_merkle_properties.py tests/unit/chainlog/test_checkpoint.py
verify|chainlog/verify.py|tests/unit/chainlog/test_verify_export.py tests/unit/chainlog/test_provenance_verify.py tests/integration/chainlog/test_export_verify.py
EOF
)

if [[ "${1:-}" == "--list" ]]; then
    echo "$TABLE" | column -t -s '|'
    exit 0
fi

if [[ ! -x "$MUTMUT" ]]; then
    echo "mutmut not found at $MUTMUT: .venv/bin/pip install -e '.[mutation]'" >&2
    exit 2
fi

keys=("$@")
if [[ ${#keys[@]} -eq 0 ]]; then
    # every module once: replay/ whole, not also its parts (replay_blocks, ...: one run each, when replay/ is too long)
    mapfile -t keys < <(echo "$TABLE" | cut -d'|' -f1 | grep -v '^replay_')
fi

for key in "${keys[@]}"; do
    row=$(echo "$TABLE" | awk -F'|' -v k="$key" '$1 == k')
    if [[ -z "$row" ]]; then
        echo "unknown module key: $key (see --list)" >&2
        exit 2
    fi
    IFS='|' read -r _ modules tests <<<"$row"
    work="$ROOT/.mutants/$key"
    echo "=== $key: mutating $modules"
    rm -rf "$work"
    mkdir -p "$work"
    (cd "$ROOT" && cp -r registry chainlog api migrations tests pyproject.toml "$work/")
    find "$work" -name __pycache__ -prune -exec rm -rf {} +

    {
        echo "[mutmut]"
        echo "source_paths ="
        for p in registry chainlog api migrations; do echo "    $p"; done
        echo "only_mutate ="
        for m in $modules; do echo "    $m"; done
        echo "pytest_add_cli_args ="
        for a in -p no:cacheprovider -x -q -k "not postgresql"; do echo "    $a"; done
        echo "pytest_add_cli_args_test_selection ="
        for t in $tests; do
            if [[ -e "$ROOT/$t" ]]; then echo "    $t"; fi
        done
    } >"$work/setup.cfg"

    (cd "$work" && "$MUTMUT" run --max-children "$JOBS" >run.log 2>&1) || {
        echo "mutmut failed for $key, see $work/run.log" >&2
        tail -n 20 "$work/run.log" >&2
        continue
    }
    (cd "$work" && "$MUTMUT" results --all true >results.txt 2>&1)
    {
        echo "module(s): $modules"
        echo "tests: $(sed -n '/pytest_add_cli_args_test_selection/,$p' "$work/setup.cfg" | tail -n +2 | tr -s ' \n' ' ')"
        awk -F': ' 'NF == 2 { n[$2]++; total++ } END {
            printf "total %d killed %d survived %d timeout %d no-tests %d suspicious %d segfault %d\n",
                total, n["killed"], n["survived"], n["timeout"], n["no tests"], n["suspicious"], n["segfault"] }' \
            "$work/results.txt"
    } >"$work/summary.txt"
    : >"$work/survivors.diff"
    for m in $(awk -F': ' '$2 == "survived" || $2 == "no tests" || $2 == "timeout" { gsub(/^ +/, "", $1); print $1 }' "$work/results.txt"); do
        (cd "$work" && "$MUTMUT" show "$m" >>survivors.diff 2>&1; echo >>survivors.diff)
    done
    cat "$work/summary.txt"
done
