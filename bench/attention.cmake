# attention_bench: ScoreSlot over N ads (included by bench/CMakeLists.txt).
add_executable(attention_bench attention_bench.cc)
target_link_libraries(attention_bench PRIVATE attex::attention benchmark::benchmark)
