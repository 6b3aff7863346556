# ledger_bench: durable billing events a second, group-committed (store
# batches, and the server's work-queue path with concurrent reporters).
add_executable(ledger_bench ledger_bench.cc)
target_link_libraries(ledger_bench PRIVATE attex::billing attex::store benchmark::benchmark)

# pacing_sim: a simulated day on a fake clock; writes an SVG of spend.
add_executable(pacing_sim pacing_sim.cc)
target_link_libraries(pacing_sim PRIVATE attex::auction absl::strings absl::str_format)
