# attention_bench: the fused attention pass against the measured read
# bandwidth; hot_path_bench: embed + eligibility + score + auction
# (included by bench/CMakeLists.txt).
add_executable(attention_bench attention_bench.cc)
target_link_libraries(attention_bench PRIVATE attex::attention benchmark::benchmark Eigen3::Eigen)

add_executable(hot_path_bench hot_path_bench.cc)
target_link_libraries(hot_path_bench PRIVATE attex::auction attex::attention benchmark::benchmark)
