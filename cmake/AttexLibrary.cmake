# attex_library(NAME SOURCES ... [PUBLIC ...] [PRIVATE ...])
# The static library attex_NAME with the alias attex::NAME (link only
# through the alias), include paths from the repository root.
function(attex_library name)
  cmake_parse_arguments(L "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(attex_${name} STATIC ${L_SOURCES})
  add_library(attex::${name} ALIAS attex_${name})
  target_include_directories(attex_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(attex_${name} PUBLIC ${L_PUBLIC} PRIVATE ${L_PRIVATE})
endfunction()
